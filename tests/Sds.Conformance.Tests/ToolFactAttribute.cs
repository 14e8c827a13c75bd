namespace Sds.Conformance.Tests;

/// <summary>
/// A fact that needs external tools: it is skipped, with a message naming the missing tool and
/// the Debian package, when one is not on PATH (CI installs them; developers may not have).
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    /// <summary>Requires every tool in <paramref name="tools"/>.</summary>
    public ToolFactAttribute(params string[] tools)
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
