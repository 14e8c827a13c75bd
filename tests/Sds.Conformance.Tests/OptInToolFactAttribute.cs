namespace Sds.Conformance.Tests;

/// <summary>
/// A <see cref="ToolFactAttribute"/> that also needs an environment variable set to 1. It is for a
/// gate that is known to fail intermittently for a reason recorded in the issue note: it stays in
/// the suite, reported as skipped with that reason, instead of failing unrelated CI runs, and runs
/// whenever the variable is set (e.g. <c>SDS_ISCSI_TEST_CU_FULL=1 ./test.sh</c>).
/// </summary>
public sealed class OptInToolFactAttribute : FactAttribute
{
    /// <summary>Requires <paramref name="variable"/>=1 and every tool in <paramref name="tools"/>.</summary>
    public OptInToolFactAttribute(string variable, string reason, params string[] tools)
    {
        if (Environment.GetEnvironmentVariable(variable) != "1")
        {
            Skip = $"opt-in: set {variable}=1 to run ({reason})";
            return;
        }
        foreach (string tool in tools)
        {
            if (Tools.Find(tool) is null)
            {
                Skip = $"{tool} is not installed (apt-get install {Tools.PackageOf(tool)})";
                return;
            }
        }
    }
}
