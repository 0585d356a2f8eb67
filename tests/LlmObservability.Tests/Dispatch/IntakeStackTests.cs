using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Dispatch;

/// <summary>The lock-free hand-over from callers to the intake loop: order, bound, close, and nothing lost under contention.</summary>
public class IntakeStackTests
{
    [Test]
    public void Records_are_taken_oldest_first_and_hold_their_room_until_released()
    {
        var intake = new IntakeStack(capacity: 3);
        var records = Enumerable.Range(0, 4).Select(i => new Numbered(0, i)).ToArray();

        Assert.That(intake.TakeAll(), Is.Null, "nothing waits yet");
        Assert.That(records.Take(3).Select(intake.TryPush), Is.All.True);
        Assert.That(intake.TryPush(records[3]), Is.False, "the bound is the capacity");
        Assert.That(intake.HasWaiting, Is.True);

        Assert.That(Walk(intake.TakeAll()), Is.EqualTo(records.Take(3)));
        Assert.That(intake.HasWaiting, Is.False);
        Assert.That(intake.Count, Is.EqualTo(3), "taken records count until the loop is done with them");
        Assert.That(intake.TryPush(records[3]), Is.False);

        intake.Release(2);
        Assert.That(intake.Count, Is.EqualTo(1));
        Assert.That(intake.TryPush(records[3]), Is.True);
        Assert.That(Walk(intake.TakeAll()), Is.EqualTo(new[] { records[3] }));
    }

    [Test]
    public void A_closed_stack_refuses_pushes_and_still_gives_what_was_waiting()
    {
        var intake = new IntakeStack(capacity: 10);
        var waiting = new[] { new Numbered(0, 0), new Numbered(0, 1) };
        foreach (var record in waiting) Assert.That(intake.TryPush(record), Is.True);

        Assert.That(intake.Complete(), Is.True);
        Assert.That(intake.Complete(), Is.False, "closing twice does nothing");
        Assert.That(intake.TryPush(new Numbered(0, 2)), Is.False, "refused once closed");
        Assert.That(intake.Count, Is.EqualTo(2), "a refused push holds no room");
        Assert.That(intake.IsCompleted, Is.False, "what was waiting is still to be taken");
        Assert.That(intake.HasWaiting, Is.True);

        Assert.That(Walk(intake.TakeAll()), Is.EqualTo(waiting));
        Assert.That(intake.IsCompleted, Is.True);
        Assert.That(intake.HasWaiting, Is.False);
        Assert.That(intake.TakeAll(), Is.Null);

        var empty = new IntakeStack(capacity: 10);
        empty.Complete();
        Assert.That(empty.IsCompleted, Is.True);
        Assert.That(empty.TryPush(new Numbered(0, 0)), Is.False);
    }

    [Test]
    public async Task Under_contention_every_accepted_record_is_taken_once_in_each_callers_order_and_no_refused_one_is()
    {
        // Four callers push as fast as they can against a small bound while one loop takes, releases and, part way
        // through, the stack is closed: every push is either taken exactly once or refused, never both, never neither.
        const int Callers = 4, PerCaller = 100_000, Capacity = 512;
        var intake = new IntakeStack(Capacity);
        var accepted = new bool[Callers][];
        var takenCount = new int[Callers][];
        for (var c = 0; c < Callers; c++) (accepted[c], takenCount[c]) = (new bool[PerCaller], new int[PerCaller]);
        var lastTaken = Enumerable.Repeat(-1, Callers).ToArray();
        var outOfOrder = 0;
        var start = new Barrier(Callers + 1);
        var takenSoFar = 0;

        var loop = Task.Run(() =>
        {
            start.SignalAndWait();
            var taken = 0;
            while (true)
            {
                var batch = intake.TakeAll();
                if (batch is null)
                {
                    if (intake.IsCompleted) return taken;
                    Thread.Yield();
                    continue;
                }
                var inBatch = 0;
                for (var record = (Numbered?)batch; record is not null; record = (Numbered?)record.Next)
                {
                    takenCount[record.Caller][record.Index]++;
                    if (record.Index <= lastTaken[record.Caller]) outOfOrder++;
                    lastTaken[record.Caller] = record.Index;
                    inBatch++;
                }
                Volatile.Write(ref takenSoFar, taken += inBatch);
                intake.Release(inBatch);
                Thread.SpinWait(500); // a loop slower than its callers: records wait, and some are beneath the close
            }
        });
        // Closed from another thread while callers push and records wait: the close must keep what lies beneath it.
        var closer = Task.Run(() =>
        {
            while (Volatile.Read(ref takenSoFar) < Callers * PerCaller / 4 || !intake.HasWaiting) Thread.Yield();
            intake.Complete();
        });
        var callers = Enumerable.Range(0, Callers).Select(c => Task.Run(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerCaller; i++)
            {
                // A refused push is retried a few times, as the bound frees up; the last answer is what counts.
                for (var attempt = 0; attempt < 5 && !(accepted[c][i] = intake.TryPush(new Numbered(c, i))); attempt++) Thread.Yield();
            }
        })).ToArray();

        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromMinutes(2));
        await closer.WaitAsync(TimeSpan.FromMinutes(2));
        var takenTotal = await loop.WaitAsync(TimeSpan.FromMinutes(2));

        var acceptedTotal = accepted.Sum(a => a.Count(x => x));
        Assert.Multiple(() =>
        {
            Assert.That(takenTotal, Is.EqualTo(acceptedTotal), "every accepted record was taken");
            Assert.That(takenCount.SelectMany(t => t).Max(), Is.LessThanOrEqualTo(1), "none was taken twice");
            for (var c = 0; c < Callers; c++)
            {
                for (var i = 0; i < PerCaller; i++)
                {
                    if (takenCount[c][i] != (accepted[c][i] ? 1 : 0)) Assert.Fail($"caller {c}, record {i}: accepted {accepted[c][i]}, taken {takenCount[c][i]} times");
                }
            }
            Assert.That(outOfOrder, Is.Zero, "each caller's records come out in the order it pushed them");
            Assert.That(intake.Count, Is.Zero, "all room given back");
            Assert.That(acceptedTotal, Is.GreaterThanOrEqualTo(Callers * PerCaller / 4).And.LessThan(Callers * PerCaller), "the close fell while callers were pushing");
        });
        TestContext.Out.WriteLine($"accepted {acceptedTotal:N0} of {Callers * PerCaller:N0}");
    }

    private static List<PendingRecord> Walk(PendingRecord? first)
    {
        var list = new List<PendingRecord>();
        for (var record = first; record is not null; record = record.Next) list.Add(record);
        return list;
    }

    private sealed class Numbered(int caller, int index) : PendingRecord
    {
        public int Caller => caller;

        public int Index => index;

        public override StandardLoggingPayload? Build(PayloadBuilder builder) => null;
    }
}
