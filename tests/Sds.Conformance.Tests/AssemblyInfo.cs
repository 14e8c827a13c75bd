// The conformance suites start real servers and real tools; on a shared 2-core machine they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
