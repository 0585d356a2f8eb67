using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// Variants of a JSON document for the fast readers' differential tests: truncated, a byte flipped, invalid UTF-8
/// inserted, one of <paramref name="keys"/> given twice, a letter escaped, or a member set to
/// <paramref name="randomValue"/> (or removed) in a random object.
/// </summary>
internal sealed class JsonMutator(string[] keys, Func<Random, JsonNode?> randomValue)
{
    public byte[] Mutate(Random random, byte[] json)
    {
        if (json.Length == 0) return json;
        var text = Encoding.UTF8.GetString(json);
        switch (random.Next(10))
        {
            case 0: return json[..random.Next(json.Length + 1)]; // truncated
            case 1:
                var flipped = json.ToArray();
                flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
                return flipped;
            case 2:
                var at = random.Next(json.Length);
                return [.. json[..at], 0xC3, 0x28, .. json[at..]]; // invalid UTF-8, often inside a string
            case 3: return Encoding.UTF8.GetBytes(DuplicateKey(random, text));
            case 4: return Encoding.UTF8.GetBytes(EscapeSomething(random, text));
            default: return Encoding.UTF8.GetBytes(MutateStructure(random, text));
        }
    }

    /// <summary>
    /// One of the keys given twice, the copy with a random value placed before the original or after it. After it
    /// matters: the document path keeps a member's last value, so a reader that took the first one of a duplicate
    /// placed before would still agree with it.
    /// </summary>
    private string DuplicateKey(Random random, string text)
    {
        var key = "\"" + keys[random.Next(keys.Length)] + "\":";
        var at = text.IndexOf(key, StringComparison.Ordinal);
        if (at < 0) return text;
        var duplicate = key + (randomValue(random)?.ToJsonString() ?? "null");
        if (random.Next(2) == 0 && ValueEnd(text, at) is { } end) return text[..end] + "," + duplicate + text[end..];
        return text[..at] + duplicate + "," + text[at..];
    }

    /// <summary>Where the value of the member named at <paramref name="nameAt"/> ends; null when the text is not JSON that far or the name is not a member's.</summary>
    private static int? ValueEnd(string text, int nameAt)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var nameByte = Encoding.UTF8.GetByteCount(text.AsSpan(0, nameAt));
        var reader = new Utf8JsonReader(utf8);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.TokenStartIndex != nameByte) continue;
                if (!reader.Read() || !reader.TrySkip()) return null;
                return Encoding.UTF8.GetCharCount(utf8.AsSpan(0, (int)reader.BytesConsumed));
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    private static string EscapeSomething(Random random, string text)
    {
        // Escape one letter of the text (inside a name or a string value, which both must unescape).
        var letters = Enumerable.Range(0, text.Length).Where(i => char.IsAsciiLetter(text[i])).ToList();
        if (letters.Count == 0) return text;
        var at = letters[random.Next(letters.Count)];
        return text[..at] + $"\\u{(int)text[at]:x4}" + text[(at + 1)..];
    }

    private string MutateStructure(Random random, string text)
    {
        try
        {
            return MutateNodes(random, text);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return text; // duplicate keys or a lone surrogate: JsonNode will not hold or write them
        }
    }

    private string MutateNodes(Random random, string text)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return text;
        }
        if (root is null) return text;
        var objects = new List<JsonObject>();
        Collect(root, objects);
        if (objects.Count == 0) return text;
        var target = objects[random.Next(objects.Count)];
        var key = keys[random.Next(keys.Length)];
        if (random.Next(4) == 0 && target.Count > 0) target.Remove(target.ElementAt(random.Next(target.Count)).Key);
        else target[key] = randomValue(random);
        return root.ToJsonString();
    }

    private static void Collect(JsonNode node, List<JsonObject> objects)
    {
        if (node is JsonObject obj)
        {
            objects.Add(obj);
            foreach (var (_, child) in obj.ToList()) if (child is not null) Collect(child, objects);
        }
        else if (node is JsonArray array)
        {
            foreach (var child in array.ToList()) if (child is not null) Collect(child, objects);
        }
    }
}
