namespace Sds.Reservations;

/// <summary>One registered reservation key (SPC-4 r37 §5.9.7).</summary>
/// <param name="Registrant">The I_T nexus that registered.</param>
/// <param name="Key">The reservation key (never 0 for a live registration).</param>
internal readonly record struct Registration(RegistrantId Registrant, ulong Key);
