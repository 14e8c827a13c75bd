using System.Text;

namespace Sds.Cli.Admin;

/// <summary>A plain-text table for humans: a header row and left-aligned columns separated by two spaces.</summary>
internal sealed class Table
{
    private readonly string[] header;
    private readonly List<string[]> rows = [];

    /// <summary>Creates a table with these column names.</summary>
    public Table(params string[] header) => this.header = header;

    /// <summary>Adds a row (as many cells as columns).</summary>
    public void Add(params string[] cells) => rows.Add(cells);

    /// <summary>Renders the table, ending in a newline.</summary>
    public override string ToString()
    {
        int[] widths = header.Select(h => h.Length).ToArray();
        foreach (string[] row in rows)
        {
            for (int i = 0; i < widths.Length; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        }

        var text = new StringBuilder();
        Append(text, header, widths);
        foreach (string[] row in rows) Append(text, row, widths);
        return text.ToString();
    }

    private static void Append(StringBuilder text, string[] cells, int[] widths)
    {
        for (int i = 0; i < cells.Length; i++)
        {
            text.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }

        text.Append('\n');
    }
}
