using System.Runtime.CompilerServices;
using System.Text;

namespace Sds.Raft.Tests.Interaction;

/// <summary>
/// Transcript tests: each <c>testdata/*.txt</c> file is a list of commands, each followed by <c>----</c> and
/// the expected output (every Ready and message), separated by blank lines. Run with SDS_REWRITE=1 to
/// regenerate the files from the current behaviour, then review the diff.
/// </summary>
public sealed class InteractionTests
{
    public static TheoryData<string> Transcripts()
    {
        TheoryData<string> data = [];
        foreach (string path in Directory.GetFiles(TestDataDirectory(), "*.txt").Order())
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Transcripts))]
    public void TranscriptMatches(string file)
    {
        string path = Path.Combine(TestDataDirectory(), file);
        string expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        InteractionEnvironment environment = new();
        StringBuilder actual = new();
        foreach (string block in expected.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string command = block.Split('\n')[0].Trim();
            if (command.Length == 0 || command.StartsWith('#'))
            {
                actual.Append(block.TrimEnd('\n')).Append("\n\n");
                continue;
            }

            string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string result = environment.Run(words[0], words[1..]);
            actual.Append(command).Append("\n----\n").Append(result).Append("\n\n");
        }

        string rewritten = actual.ToString().TrimEnd('\n') + "\n";
        if (Environment.GetEnvironmentVariable("SDS_REWRITE") == "1")
        {
            File.WriteAllText(path, rewritten);
            return;
        }

        Assert.Equal(expected, rewritten);
    }

    private static string TestDataDirectory([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "testdata");
}
