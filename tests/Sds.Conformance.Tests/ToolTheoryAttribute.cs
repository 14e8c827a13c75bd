namespace Sds.Conformance.Tests;

/// <summary>A theory that is skipped with a clear message when a needed tool is missing (see <see cref="ToolFactAttribute"/>).</summary>
public sealed class ToolTheoryAttribute : TheoryAttribute
{
    /// <summary>Requires every tool in <paramref name="tools"/>.</summary>
    public ToolTheoryAttribute(params string[] tools)
    {
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
