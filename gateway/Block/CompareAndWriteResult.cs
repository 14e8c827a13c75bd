namespace Sds.Gateway.Block;

/// <summary>Outcome of <see cref="IBlockDevice.CompareAndWriteAsync"/>.</summary>
/// <param name="Result">Ok when the data matched and was written; Miscompare when it did not.</param>
/// <param name="MiscompareOffsetBytes">For Miscompare: offset of the first differing byte inside the compared range.</param>
internal readonly record struct CompareAndWriteResult(BlockResult Result, long MiscompareOffsetBytes);
