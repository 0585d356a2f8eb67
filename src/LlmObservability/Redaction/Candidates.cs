using System.Buffers;
using System.Runtime.InteropServices;

namespace LlmObservability.Redaction;

/// <summary>A detected span before overlap resolution. Entity is an index into the redactor's entity table.</summary>
[StructLayout(LayoutKind.Auto)]
internal struct Candidate
{
    public int Start;
    public int Length;
    public int Entity;
    public int Priority;

    public Candidate(int entity, int priority, int start, int length)
    {
        Entity = entity;
        Priority = priority;
        Start = start;
        Length = length;
    }

    public readonly int End => Start + Length;
}

/// <summary>A growable list of candidates that starts on the stack and rents from the array pool only when it grows.</summary>
internal ref struct CandidateList
{
    private Span<Candidate> _items;
    private Candidate[]? _rented;

    public CandidateList(Span<Candidate> initial)
    {
        _items = initial;
        _rented = null;
        Count = 0;
    }

    public int Count { get; private set; }

    public readonly Span<Candidate> Items => _items[..Count];

    public void Add(int entity, int priority, int start, int length)
    {
        if (Count == _items.Length) Grow();
        _items[Count++] = new Candidate(entity, priority, start, length);
    }

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<Candidate>.Shared.Return(_rented);
            _rented = null;
        }
    }

    private void Grow()
    {
        var bigger = ArrayPool<Candidate>.Shared.Rent(Math.Max(16, _items.Length * 2));
        _items.CopyTo(bigger);
        if (_rented is not null) ArrayPool<Candidate>.Shared.Return(_rented);
        _rented = bigger;
        _items = bigger;
    }
}

/// <summary>
/// Resolves overlapping candidates deterministically. Candidates that overlap, directly or through a chain, form a
/// cluster. Within a cluster the highest priority wins, then the longest, then the earliest; further candidates are
/// kept when they overlap nothing already kept. If that would leave characters of a dropped candidate unredacted, the
/// whole cluster becomes one replacement labelled with the winner, so nothing detected is ever left in the clear and
/// nothing is replaced twice.
/// </summary>
internal static class CandidateResolver
{
    private const int MaxClusterForGreedy = 16;
    private const int InsertionSortLimit = 64;

    /// <summary>Resolves in place; returns how many non-overlapping candidates remain at the front, sorted by start.</summary>
    public static int Resolve(Span<Candidate> items)
    {
        if (items.Length == 0) return 0;
        Sort(items, new ByStart());
        var written = 0;
        var a = 0;
        while (a < items.Length)
        {
            var extentEnd = items[a].End;
            var b = a + 1;
            while (b < items.Length && items[b].Start < extentEnd)
            {
                extentEnd = Math.Max(extentEnd, items[b].End);
                b++;
            }

            written += ResolveCluster(items, a, b, written, extentEnd);
            a = b;
        }

        return written;
    }

    private static int ResolveCluster(Span<Candidate> items, int a, int b, int write, int extentEnd)
    {
        if (b - a == 1)
        {
            items[write] = items[a];
            return 1;
        }

        var size = b - a;
        if (size > MaxClusterForGreedy) return WriteUnion(items, a, b, write, extentEnd);

        Span<Candidate> cluster = stackalloc Candidate[MaxClusterForGreedy];
        cluster = cluster[..size];
        items[a..b].CopyTo(cluster);
        Sort(cluster, new ByRank());

        Span<bool> kept = stackalloc bool[MaxClusterForGreedy];
        kept = kept[..size];
        kept.Clear();
        for (var i = 0; i < size; i++)
        {
            var overlaps = false;
            for (var j = 0; j < i && !overlaps; j++)
                overlaps = kept[j] && cluster[j].Start < cluster[i].End && cluster[i].Start < cluster[j].End;
            kept[i] = !overlaps;
        }

        Span<Candidate> accepted = stackalloc Candidate[MaxClusterForGreedy];
        var count = 0;
        for (var i = 0; i < size; i++)
        {
            if (kept[i]) accepted[count++] = cluster[i];
        }

        accepted = accepted[..count];
        Sort(accepted, new ByStart());

        // Every dropped candidate must be covered by kept ones; otherwise fall back to one replacement for the cluster.
        for (var i = 0; i < size; i++)
        {
            if (kept[i]) continue;
            var pos = cluster[i].Start;
            foreach (var x in accepted)
            {
                if (x.Start <= pos && x.End > pos) pos = x.End;
                if (pos >= cluster[i].End) break;
            }

            if (pos < cluster[i].End) return WriteUnion(items, a, b, write, extentEnd);
        }

        accepted.CopyTo(items[write..]);
        return count;
    }

    /// <summary>
    /// Insertion sort for the short, nearly ordered lists the scanner produces (it emits in text order, except for
    /// matches that start a little before their trigger); the general sort above that size.
    /// </summary>
    private static void Sort<TComparer>(Span<Candidate> items, TComparer comparer)
        where TComparer : struct, IComparer<Candidate>
    {
        if (items.Length > InsertionSortLimit)
        {
            items.Sort(comparer);
            return;
        }

        for (var i = 1; i < items.Length; i++)
        {
            var item = items[i];
            var j = i - 1;
            while (j >= 0 && comparer.Compare(items[j], item) > 0)
            {
                items[j + 1] = items[j];
                j--;
            }

            items[j + 1] = item;
        }
    }

    private static int WriteUnion(Span<Candidate> items, int a, int b, int write, int extentEnd)
    {
        var best = items[a];
        for (var i = a + 1; i < b; i++)
        {
            if (new ByRank().Compare(items[i], best) < 0) best = items[i];
        }

        var start = items[a].Start;
        items[write] = new Candidate(best.Entity, best.Priority, start, extentEnd - start);
        return 1;
    }

    /// <summary>Start ascending, then longer first, then higher priority, then entity index.</summary>
    private readonly struct ByStart : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y)
        {
            var c = x.Start.CompareTo(y.Start);
            if (c != 0) return c;
            c = y.Length.CompareTo(x.Length);
            if (c != 0) return c;
            c = y.Priority.CompareTo(x.Priority);
            return c != 0 ? c : x.Entity.CompareTo(y.Entity);
        }
    }

    /// <summary>Higher priority first, then longer, then earlier, then entity index.</summary>
    private readonly struct ByRank : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y)
        {
            var c = y.Priority.CompareTo(x.Priority);
            if (c != 0) return c;
            c = y.Length.CompareTo(x.Length);
            if (c != 0) return c;
            c = x.Start.CompareTo(y.Start);
            return c != 0 ? c : x.Entity.CompareTo(y.Entity);
        }
    }
}
