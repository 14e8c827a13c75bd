using System.Collections;

namespace Grpc.Core;

/// <summary>
/// Call headers or trailers: an ordered list of key/value entries. Keys are lowercase ASCII; a key ending
/// in <c>-bin</c> carries bytes (base64 on the wire), any other key carries printable ASCII.
/// </summary>
public sealed class Metadata : IList<Metadata.Entry>
{
    /// <summary>The suffix that marks a binary key.</summary>
    public const string BinaryHeaderSuffix = "-bin";

    /// <summary>An empty, read-only instance.</summary>
    public static readonly Metadata Empty = new Metadata().Freeze();

    private readonly List<Entry> entries = [];
    private bool readOnly;

    /// <summary>Number of entries.</summary>
    public int Count => entries.Count;

    /// <summary>True once frozen (e.g. <see cref="Empty"/>).</summary>
    public bool IsReadOnly => readOnly;

    /// <summary>Gets or replaces the entry at an index.</summary>
    public Entry this[int index]
    {
        get => entries[index];
        set
        {
            CheckWritable();
            entries[index] = value ?? throw new ArgumentNullException(nameof(value));
        }
    }

    /// <summary>Makes this instance read-only and returns it.</summary>
    internal Metadata Freeze()
    {
        readOnly = true;
        return this;
    }

    /// <summary>Adds an ASCII entry.</summary>
    public void Add(string key, string value) => Add(new Entry(key, value));

    /// <summary>Adds a binary entry; the key must end in <c>-bin</c>.</summary>
    public void Add(string key, byte[] valueBytes) => Add(new Entry(key, valueBytes));

    /// <summary>Adds an entry.</summary>
    public void Add(Entry item)
    {
        ArgumentNullException.ThrowIfNull(item);
        CheckWritable();
        entries.Add(item);
    }

    /// <summary>The last entry with this key, or null.</summary>
    public Entry? Get(string key)
    {
        for (var i = entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(entries[i].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return entries[i];
            }
        }

        return null;
    }

    /// <summary>The string value of the last ASCII entry with this key, or null.</summary>
    public string? GetValue(string key)
    {
        var entry = Get(key);
        if (entry is null)
        {
            return null;
        }

        if (entry.IsBinary)
        {
            throw new InvalidOperationException($"Key '{key}' is binary; use GetValueBytes.");
        }

        return entry.Value;
    }

    /// <summary>The bytes of the last binary entry with this key, or null.</summary>
    public byte[]? GetValueBytes(string key)
    {
        var entry = Get(key);
        if (entry is null)
        {
            return null;
        }

        if (!entry.IsBinary)
        {
            throw new InvalidOperationException($"Key '{key}' is not binary; use GetValue.");
        }

        return entry.ValueBytes;
    }

    /// <summary>Every entry with this key, in order.</summary>
    public IEnumerable<Entry> GetAll(string key)
    {
        foreach (var entry in entries)
        {
            if (string.Equals(entry.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                yield return entry;
            }
        }
    }

    /// <summary>Removes every entry.</summary>
    public void Clear()
    {
        CheckWritable();
        entries.Clear();
    }

    /// <summary>True if the entry instance is present.</summary>
    public bool Contains(Entry item) => entries.Contains(item);

    /// <summary>Copies the entries to an array.</summary>
    public void CopyTo(Entry[] array, int arrayIndex) => entries.CopyTo(array, arrayIndex);

    /// <summary>Index of the entry instance, or -1.</summary>
    public int IndexOf(Entry item) => entries.IndexOf(item);

    /// <summary>Inserts an entry.</summary>
    public void Insert(int index, Entry item)
    {
        ArgumentNullException.ThrowIfNull(item);
        CheckWritable();
        entries.Insert(index, item);
    }

    /// <summary>Removes the entry instance.</summary>
    public bool Remove(Entry item)
    {
        CheckWritable();
        return entries.Remove(item);
    }

    /// <summary>Removes the entry at an index.</summary>
    public void RemoveAt(int index)
    {
        CheckWritable();
        entries.RemoveAt(index);
    }

    /// <summary>Enumerates the entries without allocating an enumerator box when used with foreach on this type.</summary>
    public List<Entry>.Enumerator GetEnumerator() => entries.GetEnumerator();

    IEnumerator<Entry> IEnumerable<Entry>.GetEnumerator() => entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => entries.GetEnumerator();

    private void CheckWritable()
    {
        if (readOnly)
        {
            throw new InvalidOperationException("Metadata is read-only.");
        }
    }

    /// <summary>One metadata entry.</summary>
    public sealed class Entry
    {
        private readonly string? value;
        private readonly byte[]? valueBytes;

        /// <summary>Creates an ASCII entry.</summary>
        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            if (Key.EndsWith(BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                throw new ArgumentException("A key ending in -bin needs a byte[] value.", nameof(key));
            }

            ArgumentNullException.ThrowIfNull(value);
            foreach (var c in value)
            {
                // PROTOCOL-HTTP2 ASCII-Value: printable ASCII (0x20..0x7E) only.
                if (c < 0x20 || c > 0x7E)
                {
                    throw new ArgumentException("An ASCII metadata value must be printable ASCII.", nameof(value));
                }
            }

            this.value = value;
        }

        /// <summary>Creates a binary entry.</summary>
        public Entry(string key, byte[] valueBytes)
        {
            Key = NormalizeKey(key);
            if (!Key.EndsWith(BinaryHeaderSuffix, StringComparison.Ordinal))
            {
                throw new ArgumentException("A binary entry's key must end in -bin.", nameof(key));
            }

            this.valueBytes = valueBytes ?? throw new ArgumentNullException(nameof(valueBytes));
        }

        /// <summary>The lowercase key.</summary>
        public string Key { get; }

        /// <summary>True for a <c>-bin</c> key.</summary>
        public bool IsBinary => valueBytes is not null;

        /// <summary>The ASCII value; throws for a binary entry.</summary>
        public string Value => value ?? throw new InvalidOperationException("Binary entry has no string value.");

        /// <summary>The value bytes: the binary value, or the ASCII value encoded.</summary>
        public byte[] ValueBytes => valueBytes ?? System.Text.Encoding.ASCII.GetBytes(value!);

        /// <inheritdoc />
        public override string ToString() => IsBinary ? $"[Entry: key={Key}, valueBytes={valueBytes!.Length}]" : $"[Entry: key={Key}, value={value}]";

        private static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var normalized = key.ToLowerInvariant();
            foreach (var c in normalized)
            {
                // PROTOCOL-HTTP2 Header-Name: 0-9 a-z _ - . only.
                var legal = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                if (!legal)
                {
                    throw new ArgumentException($"Metadata key '{key}' has an illegal character.", nameof(key));
                }
            }

            return normalized;
        }
    }
}
