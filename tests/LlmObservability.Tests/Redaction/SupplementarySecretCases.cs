using System.Text;
using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

/// <summary>
/// Labelled secret cases for the kinds that gitleaks' samples in shared/data/pii cover thinly or not at all (GitHub: no
/// positive; Stripe, AWS secret keys, passwords: no case; AWS key IDs, Google and Anthropic keys: one positive each).
/// Same shape as the gitleaks cases (<see cref="SecretCase"/>), with <see cref="SecretCase.Rule"/> set to the
/// redactor's entity name. The positive tokens are generated from a fixed seed in each vendor's documented format
/// (prefix, length, alphabet), so the repository holds no real-looking key for secret scanners to flag, and the set is
/// the same on every run. The negatives are look-alikes that must not be redacted as any secret: placeholders,
/// documented example keys, truncated tokens, public (publishable) keys, hashes and IDs.
/// </summary>
internal static class SupplementarySecretCases
{
    /// <summary>The seed of the generated tokens; changing it changes every positive case.</summary>
    private const int Seed = 20_261_124;

    private const string Source = "llmobservability (generated, hand-labelled contexts)";

    private const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string Lower = "abcdefghijklmnopqrstuvwxyz";
    private const string Digits = "0123456789";
    private const string Alnum = Upper + Lower + Digits;
    private const string Base64 = Alnum + "+/";
    private const string Base64Url = Alnum + "-_";
    private const string Hex = "0123456789abcdef";

    /// <summary>AWS access key IDs use base32 (A-Z, 2-7) after the four-letter prefix.</summary>
    private const string Base32 = Upper + "234567";

    /// <summary>Every supplementary case, in a stable order.</summary>
    public static IReadOnlyList<SecretCase> All { get; } = Build();

    private static List<SecretCase> Build()
    {
        var r = new Random(Seed);
        var cases = new List<SecretCase>();
        void Pos(string entity, string text) => cases.Add(new SecretCase(entity, text, ExpectSecret: true, Source));
        void Neg(string entity, string text) => cases.Add(new SecretCase(entity, text, ExpectSecret: false, Source));
        string R(string alphabet, int length) => Token(r, alphabet, length);

        // ---- OpenAI: sk-proj-/sk-svcacct-/sk-admin- project keys and legacy sk-<20>T3BlbkFJ<20> keys ----------------
        string OpenAi() => r.Next(4) switch
        {
            0 => "sk-" + R(Alnum, 20) + "T3BlbkFJ" + R(Alnum, 20),
            1 => "sk-svcacct-" + R(Base64Url, 74) + "T3BlbkFJ" + R(Base64Url, 74),
            2 => "sk-admin-" + R(Base64Url, 74) + "T3BlbkFJ" + R(Base64Url, 74),
            _ => "sk-proj-" + R(Base64Url, 74) + "T3BlbkFJ" + R(Base64Url, 74),
        };
        Pos(PiiEntities.OpenAiApiKey, $"I keep getting 401 with my key {OpenAi()} even though billing is set up");
        Pos(PiiEntities.OpenAiApiKey, $"export OPENAI_API_KEY={OpenAi()}");
        Pos(PiiEntities.OpenAiApiKey, $"client = OpenAI(api_key=\"{OpenAi()}\")");
        Pos(PiiEntities.OpenAiApiKey, $"{{\"openai\": {{\"key\": \"{OpenAi()}\"}}}}");
        Pos(PiiEntities.OpenAiApiKey, $"Here is the .env file:\nOPENAI_KEY={OpenAi()}\nMODEL=gpt-4o-mini");
        Pos(PiiEntities.OpenAiApiKey, $"can you check why {OpenAi()} is rejected? it worked yesterday");
        Pos(PiiEntities.OpenAiApiKey, $"The new service account key is {OpenAi()}.");
        Pos(PiiEntities.OpenAiApiKey, $"- key: {OpenAi()}\n  org: org-research");
        Neg(PiiEntities.OpenAiApiKey, "Set the key to sk-... and run the script again.");
        Neg(PiiEntities.OpenAiApiKey, "We use an sk-learn-compatible-estimator-wrapper for the ranking model.");
        Neg(PiiEntities.OpenAiApiKey, "OPENAI_API_KEY=sk-your-key-goes-here-before-running");
        Neg(PiiEntities.OpenAiApiKey, "The key looks like sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX in the dashboard.");
        Neg(PiiEntities.OpenAiApiKey, "Keys start with sk- and project keys with sk-proj-, never share them.");

        // ---- Anthropic: sk-ant-api03-<93>AA and sk-ant-admin01-<93>AA -------------------------------------------------
        string Anthropic() => "sk-ant-api03-" + R(Base64Url, 93) + "AA";
        string AnthropicAdmin() => "sk-ant-admin01-" + R(Base64Url, 93) + "AA";
        Pos(PiiEntities.AnthropicApiKey, $"ANTHROPIC_API_KEY={Anthropic()}");
        Pos(PiiEntities.AnthropicApiKey, $"my claude key {Anthropic()} returns authentication_error, why?");
        Pos(PiiEntities.AnthropicApiKey, $"client = anthropic.Anthropic(api_key=\"{Anthropic()}\")");
        Pos(PiiEntities.AnthropicApiKey, $"curl https://api.anthropic.com/v1/messages -H \"x-api-key: {Anthropic()}\"");
        Pos(PiiEntities.AnthropicApiKey, $"{{\"anthropic_key\":\"{Anthropic()}\",\"model\":\"claude-sonnet-4-5\"}}");
        Neg(PiiEntities.AnthropicApiKey, "ANTHROPIC_API_KEY=sk-ant-api03-...");
        Neg(PiiEntities.AnthropicApiKey, "Anthropic keys look like sk-ant-api03- followed by a long random string.");
        Neg(PiiEntities.AnthropicApiKey, "sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxAA");
        Pos(PiiEntities.AnthropicAdminKey, $"the org admin key is {AnthropicAdmin()}");
        Pos(PiiEntities.AnthropicAdminKey, $"ANTHROPIC_ADMIN_KEY={AnthropicAdmin()}");
        Pos(PiiEntities.AnthropicAdminKey, $"curl https://api.anthropic.com/v1/organizations/users -H \"x-api-key: {AnthropicAdmin()}\"");
        Pos(PiiEntities.AnthropicAdminKey, $"rotate {AnthropicAdmin()} after the audit please");
        Neg(PiiEntities.AnthropicAdminKey, "Admin keys start with sk-ant-admin01- and can only be created by org admins.");
        for (var k = 0; k < 6; k++)
        {
            Pos(PiiEntities.AnthropicApiKey, $"key #{k + 1}: {Anthropic()}");
            Pos(PiiEntities.AnthropicAdminKey, $"admin key #{k + 1}: {AnthropicAdmin()}");
        }

        // ---- AWS: AKIA/ASIA + 16 base32 key IDs; 40-character secret access keys next to their key name ------------
        string AwsId() => (r.Next(2) == 0 ? "AKIA" : "ASIA") + R(Base32, 16);
        string AwsSecret() => R(Base64, 40);
        Pos(PiiEntities.AwsAccessKeyId, $"aws_access_key_id = {AwsId()}");
        Pos(PiiEntities.AwsAccessKeyId, $"The CI job fails with InvalidClientTokenId for {AwsId()}");
        Pos(PiiEntities.AwsAccessKeyId, $"{{\"AccessKeyId\": \"{AwsId()}\", \"Expiration\": \"2026-11-24T09:00:00Z\"}}");
        Pos(PiiEntities.AwsAccessKeyId, $"export AWS_ACCESS_KEY_ID={AwsId()}");
        Pos(PiiEntities.AwsAccessKeyId, $"user arn:aws:iam::123456789012:user/deploy has key {AwsId()} (active)");
        Pos(PiiEntities.AwsAccessKeyId, $"[default]\naws_access_key_id={AwsId()}\nregion=eu-west-1");
        Pos(PiiEntities.AwsAccessKeyId, $"temporary creds: {AwsId()} expire in an hour");
        Pos(PiiEntities.AwsAccessKeyId, $"S3 says AccessDenied for key {AwsId()}, bucket policy attached below");
        Pos(PiiEntities.AwsAccessKeyId, $"AWS_ACCESS_KEY_ID: \"{AwsId()}\"");
        Pos(PiiEntities.AwsAccessKeyId, $"rotate {AwsId()} and {AwsId()} before Friday");
        Neg(PiiEntities.AwsAccessKeyId, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE");
        Neg(PiiEntities.AwsAccessKeyId, "key = AKIAXXXXXXXXXXXXXXXX");
        Neg(PiiEntities.AwsAccessKeyId, "Access key IDs begin with AKIA (long-term) or ASIA (temporary).");
        Neg(PiiEntities.AwsAccessKeyId, "Sales in ASIAPACIFICREGIONALOFFICE grew 4% this quarter.");
        Neg(PiiEntities.AwsAccessKeyId, "the id AKIA1234 is too short to be a key");
        Pos(PiiEntities.AwsSecretAccessKey, $"aws_secret_access_key = {AwsSecret()}");
        Pos(PiiEntities.AwsSecretAccessKey, $"export AWS_SECRET_ACCESS_KEY={AwsSecret()}");
        Pos(PiiEntities.AwsSecretAccessKey, $"{{\"AccessKeyId\": \"{AwsId()}\", \"SecretAccessKey\": \"{AwsSecret()}\"}}");
        Pos(PiiEntities.AwsSecretAccessKey, $"[prod]\naws_access_key_id={AwsId()}\naws_secret_access_key={AwsSecret()}");
        Pos(PiiEntities.AwsSecretAccessKey, $"AWS_SECRET_ACCESS_KEY: \"{AwsSecret()}\"");
        Pos(PiiEntities.AwsSecretAccessKey, $"new SessionAWSCredentials(id, secretAccessKey: \"{AwsSecret()}\", token)");
        Pos(PiiEntities.AwsSecretAccessKey, $"the terraform var aws_secret_access_key=\"{AwsSecret()}\" is in plain text");
        Pos(PiiEntities.AwsSecretAccessKey, $"secret_access_key: {AwsSecret()}");
        Pos(PiiEntities.AwsSecretAccessKey, $"env:\n  AWS_REGION: eu-west-1\n  AWS_SECRET_ACCESS_KEY: {AwsSecret()}");
        Pos(PiiEntities.AwsSecretAccessKey, $"the profile has AwsSecretAccessKey={AwsSecret()} in plain text");
        Neg(PiiEntities.AwsSecretAccessKey, "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        Neg(PiiEntities.AwsSecretAccessKey, "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}");
        Neg(PiiEntities.AwsSecretAccessKey, "AWS_SECRET_ACCESS_KEY=<your-secret-access-key>");
        Neg(PiiEntities.AwsSecretAccessKey, $"commit {R(Hex, 40)} bumped the SDK to 3.7.400");
        Neg(PiiEntities.AwsSecretAccessKey, "the secret access key is 40 characters long and shown only once");

        // ---- GitHub: ghp_/gho_/ghu_/ghs_/ghr_ + 36 alphanumerics; github_pat_ + 22 + '_' + 59 ------------------------
        string GitHub() => r.Next(6) switch
        {
            0 => "ghp_" + R(Alnum, 36),
            1 => "gho_" + R(Alnum, 36),
            2 => "ghu_" + R(Alnum, 36),
            3 => "ghs_" + R(Alnum, 36),
            4 => "ghr_" + R(Alnum, 36),
            _ => "github_pat_" + R(Alnum, 22) + "_" + R(Alnum, 59),
        };
        Pos(PiiEntities.GitHubToken, $"git clone https://{GitHub()}@github.com/acme/payments.git fails with 403");
        Pos(PiiEntities.GitHubToken, $"export GITHUB_TOKEN={GitHub()}");
        Pos(PiiEntities.GitHubToken, $"my PAT {GitHub()} has repo scope but the push is rejected");
        Pos(PiiEntities.GitHubToken, $"- uses: actions/checkout@v4\n  with:\n    token: {GitHub()}");
        Pos(PiiEntities.GitHubToken, $"{{\"token\": \"{GitHub()}\", \"expires_at\": \"2026-12-01T00:00:00Z\"}}");
        Pos(PiiEntities.GitHubToken, $"gh auth login --with-token <<< {GitHub()}");
        Pos(PiiEntities.GitHubToken, $"the installation token {GitHub()} expires after an hour");
        Pos(PiiEntities.GitHubToken, $"GH_TOKEN: {GitHub()}");
        Pos(PiiEntities.GitHubToken, $"fine-grained token: github_pat_{R(Alnum, 22)}_{R(Alnum, 59)}");
        Pos(PiiEntities.GitHubToken, $"oauth app returned gho_{R(Alnum, 36)} for the user");
        Pos(PiiEntities.GitHubToken, $"server-to-server token ghs_{R(Alnum, 36)} from the app");
        Pos(PiiEntities.GitHubToken, $"personal token ghp_{R(Alnum, 36)} leaked in the log?");
        Neg(PiiEntities.GitHubToken, "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        Neg(PiiEntities.GitHubToken, "Tokens with the ghp_ prefix are classic personal access tokens.");
        Neg(PiiEntities.GitHubToken, "I tried ghp_abc123 but GitHub says bad credentials");
        Neg(PiiEntities.GitHubToken, "github_pat_11ABCDEFG0 is only the start of the token, the rest is hidden");
        Neg(PiiEntities.GitHubToken, "set GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }} in the workflow");
        Neg(PiiEntities.GitHubToken, $"the merge commit is {R(Hex, 40)}");

        // ---- Google API keys: AIza + 35 of [A-Za-z0-9_-] (in practice AIzaSy + 33) --------------------------------------
        string Google() => "AIzaSy" + R(Base64Url, 33);
        Pos(PiiEntities.GoogleApiKey, $"const firebaseConfig = {{ apiKey: \"{Google()}\", projectId: \"shop-prod\" }};");
        Pos(PiiEntities.GoogleApiKey, $"https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key={Google()}");
        Pos(PiiEntities.GoogleApiKey, $"GOOGLE_API_KEY={Google()}");
        Pos(PiiEntities.GoogleApiKey, $"Gemini says API_KEY_INVALID for {Google()}");
        Pos(PiiEntities.GoogleApiKey, $"<meta-data android:name=\"com.google.android.geo.API_KEY\" android:value=\"{Google()}\"/>");
        Pos(PiiEntities.GoogleApiKey, $"genai.configure(api_key=\"{Google()}\")");
        Pos(PiiEntities.GoogleApiKey, $"curl \"https://generativelanguage.googleapis.com/v1beta/models?key={Google()}\"");
        Pos(PiiEntities.GoogleApiKey, $"the browser key {Google()} is restricted to our domain");
        Pos(PiiEntities.GoogleApiKey, $"{{\"youtube\": {{\"apiKey\": \"{Google()}\"}}}}");
        Pos(PiiEntities.GoogleApiKey, $"x-goog-api-key: {Google()}");
        Neg(PiiEntities.GoogleApiKey, "apiKey: \"AIzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
        Neg(PiiEntities.GoogleApiKey, "Google API keys start with AIza and are 39 characters long.");
        Neg(PiiEntities.GoogleApiKey, "apiKey: \"AIzaSy...\" goes into the firebase config");
        Neg(PiiEntities.GoogleApiKey, $"the truncated key AIzaSy{R(Base64Url, 20)} from the screenshot");

        // ---- Slack: xoxb-<id>-<id>-<24>, xoxp-<id>-<id>-<id>-<32 hex> ---------------------------------------------------
        string SlackId() => R("123456789", 1) + R(Digits, 9 + r.Next(4));
        string Slack() => r.Next(2) == 0
            ? $"xoxb-{SlackId()}-{SlackId()}-{R(Alnum, 24)}"
            : $"xoxp-{SlackId()}-{SlackId()}-{SlackId()}-{R(Hex, 32)}";
        Pos(PiiEntities.SlackToken, $"SLACK_BOT_TOKEN={Slack()}");
        Pos(PiiEntities.SlackToken, $"the bot stopped posting, token {Slack()} gives invalid_auth");
        Pos(PiiEntities.SlackToken, $"app = App(token=\"{Slack()}\", signing_secret=os.environ[\"SIGNING\"])");
        Pos(PiiEntities.SlackToken, $"curl -H \"Authorization: Bearer {Slack()}\" https://slack.com/api/auth.test");
        Pos(PiiEntities.SlackToken, $"{{\"ok\": true, \"access_token\": \"{Slack()}\", \"team\": {{\"id\": \"T0123ABCD\"}}}}");
        Pos(PiiEntities.SlackToken, $"user token: {Slack()}");
        Pos(PiiEntities.SlackToken, $"rotate {Slack()} after the offboarding");
        Pos(PiiEntities.SlackToken, $"- slack:\n    token: {Slack()}");
        Pos(PiiEntities.SlackToken, $"new WebClient(\"{Slack()}\")");
        Pos(PiiEntities.SlackToken, $"is {Slack()} a bot or a user token?");
        Neg(PiiEntities.SlackToken, "xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx");
        Neg(PiiEntities.SlackToken, "Bot tokens start with xoxb- and user tokens with xoxp-.");
        Neg(PiiEntities.SlackToken, "SLACK_BOT_TOKEN=xoxb-your-token");
        Neg(PiiEntities.SlackToken, "channel C024BE91L in team T024BE7LD, user U024BE7LH");

        // ---- Stripe: sk_live_/sk_test_/rk_live_/rk_test_ + 24 or 99 alphanumerics; pk_ keys are public ----------------
        string StripeBody() => R(Alnum, r.Next(2) == 0 ? 24 : 99);
        string Stripe() => (r.Next(4) switch { 0 => "sk_live_", 1 => "rk_live_", 2 => "sk_test_", _ => "rk_test_" }) + StripeBody();
        Pos(PiiEntities.StripeKey, $"STRIPE_SECRET_KEY={Stripe()}");
        Pos(PiiEntities.StripeKey, $"stripe.api_key = \"{Stripe()}\"");
        Pos(PiiEntities.StripeKey, $"curl https://api.stripe.com/v1/charges -u {Stripe()}:");
        Pos(PiiEntities.StripeKey, $"the restricted key {Stripe()} can only read charges");
        Pos(PiiEntities.StripeKey, $"StripeConfiguration.ApiKey = \"{Stripe()}\";");
        Pos(PiiEntities.StripeKey, $"{{\"stripe\": {{\"secret\": \"{Stripe()}\"}}}}");
        Pos(PiiEntities.StripeKey, $"webhook test uses {Stripe()} in staging");
        Pos(PiiEntities.StripeKey, $"live key: sk_live_{StripeBody()}");
        Pos(PiiEntities.StripeKey, $"why does rk_live_{StripeBody()} get a permission error on refunds?");
        Pos(PiiEntities.StripeKey, $"Authorization: Bearer {Stripe()}");
        Neg(PiiEntities.StripeKey, $"const stripe = Stripe('pk_live_{R(Alnum, 24)}');");
        Neg(PiiEntities.StripeKey, $"publishable key pk_test_{R(Alnum, 24)} goes in the frontend");
        Neg(PiiEntities.StripeKey, "STRIPE_SECRET_KEY=sk_live_...");
        Neg(PiiEntities.StripeKey, "Secret keys start with sk_live_ in live mode and sk_test_ in test mode.");
        Neg(PiiEntities.StripeKey, "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx");
        Neg(PiiEntities.StripeKey, "charge ch_3MmlLrLkdIwHu7ix0snN0B15 and customer cus_NffrFeUfNV2Hib were created");

        // ---- Hugging Face: hf_ + 34 letters ---------------------------------------------------------------------------
        string HuggingFace() => "hf_" + R(Upper + Lower, 34);
        Pos(PiiEntities.HuggingFaceToken, $"HF_TOKEN={HuggingFace()}");
        Pos(PiiEntities.HuggingFaceToken, $"huggingface-cli login --token {HuggingFace()}");
        Pos(PiiEntities.HuggingFaceToken, $"login(token=\"{HuggingFace()}\")");
        Pos(PiiEntities.HuggingFaceToken, $"the gated model returns 401 with {HuggingFace()}");
        Pos(PiiEntities.HuggingFaceToken, $"curl https://huggingface.co/api/whoami-v2 -H \"Authorization: Bearer {HuggingFace()}\"");
        Pos(PiiEntities.HuggingFaceToken, $"{{\"hf_token\": \"{HuggingFace()}\"}}");
        Pos(PiiEntities.HuggingFaceToken, $"my read token is {HuggingFace()}, the write one is revoked");
        Pos(PiiEntities.HuggingFaceToken, $"- env:\n    HUGGING_FACE_HUB_TOKEN: {HuggingFace()}");
        Pos(PiiEntities.HuggingFaceToken, $"pipeline(\"text-generation\", model=\"meta-llama/Llama-3.1-8B\", token=\"{HuggingFace()}\")");
        Pos(PiiEntities.HuggingFaceToken, $"token {HuggingFace()} works locally but not in the space");
        Neg(PiiEntities.HuggingFaceToken, "from huggingface_hub import hf_hub_download, snapshot_download");
        Neg(PiiEntities.HuggingFaceToken, "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        Neg(PiiEntities.HuggingFaceToken, "Access tokens start with hf_ and are shown once.");
        Neg(PiiEntities.HuggingFaceToken, $"the token hf_{R(Upper + Lower, 20)} was cut off in the screenshot");

        // ---- JWT: base64url header.payload.signature -----------------------------------------------------------------
        string Jwt()
        {
            var header = B64Url("{\"alg\":\"" + (r.Next(2) == 0 ? "HS256" : "RS256") + "\",\"typ\":\"JWT\"}");
            var payload = B64Url($"{{\"sub\":\"{r.Next(100000, 999999)}\",\"name\":\"user{r.Next(1000)}\",\"iat\":{1_760_000_000 + r.Next(10_000_000)}}}");
            return header + "." + payload + "." + R(Base64Url, 43);
        }

        Pos(PiiEntities.Jwt, $"the API rejects this token: {Jwt()}");
        Pos(PiiEntities.Jwt, $"{{\"id_token\": \"{Jwt()}\", \"expires_in\": 3600}}");
        Pos(PiiEntities.Jwt, $"Set-Cookie: session={Jwt()}; Path=/; HttpOnly");
        Pos(PiiEntities.Jwt, $"can you decode {Jwt()} and tell me the claims?");
        Pos(PiiEntities.Jwt, $"localStorage.setItem('jwt', '{Jwt()}')");
        Pos(PiiEntities.Jwt, $"wss://realtime.example.net/socket?jwt={Jwt()}");
        Pos(PiiEntities.Jwt, $"JWT={Jwt()}");
        Pos(PiiEntities.Jwt, $"the refresh returned {Jwt()} but it is already expired");
        Pos(PiiEntities.Jwt, $"- token: {Jwt()}");
        Pos(PiiEntities.Jwt, $"403 for {Jwt()}");
        Neg(PiiEntities.Jwt, "A JWT starts with eyJ because the header is base64url JSON.");
        Neg(PiiEntities.Jwt, "the header eyJhbGciOiJIUzI1NiJ9 alone is not a token");
        Neg(PiiEntities.Jwt, "token: eyJ... (truncated)");

        // ---- PEM / OpenSSH private keys ---------------------------------------------------------------------------------
        string Pem(string label, int lines, string separator)
        {
            var body = new StringBuilder();
            for (var l = 0; l < lines; l++) body.Append(R(Base64, 64)).Append(separator);
            return $"-----BEGIN {label}-----{separator}{body}-----END {label}-----";
        }

        string[] labels = ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"];
        for (var k = 0; k < 10; k++)
        {
            var label = labels[k % labels.Length];
            var key = Pem(label, 3 + r.Next(6), k % 3 == 0 ? "\\n" : "\n");
            Pos(PiiEntities.PrivateKey, (k % 4) switch
            {
                0 => $"{{\"private_key\": \"{key}\"}}",
                1 => $"my deploy key is failing:\n{key}\nwhat is wrong with it?",
                2 => $"here is id_ed25519:\n```\n{key}\n```",
                _ => key,
            });
        }

        Neg(PiiEntities.PrivateKey, $"-----BEGIN PUBLIC KEY-----\n{R(Base64, 64)}\n{R(Base64, 64)}\n-----END PUBLIC KEY-----");
        Neg(PiiEntities.PrivateKey, $"-----BEGIN CERTIFICATE-----\n{R(Base64, 64)}\n{R(Base64, 64)}\n-----END CERTIFICATE-----");
        Neg(PiiEntities.PrivateKey, "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----");
        Neg(PiiEntities.PrivateKey, "Paste the key between -----BEGIN RSA PRIVATE KEY----- and -----END RSA PRIVATE KEY-----.");

        // ---- Authorization: Bearer / Basic ---------------------------------------------------------------------------
        string Opaque() => R(Alnum, 32 + r.Next(16));
        Pos(PiiEntities.BearerToken, $"Authorization: Bearer {Opaque()}");
        Pos(PiiEntities.BearerToken, $"curl -H \"Authorization: Bearer {Opaque()}\" https://api.internal/v2/orders");
        Pos(PiiEntities.BearerToken, $"{{\"headers\": {{\"Authorization\": \"Bearer {Opaque()}\"}}}}");
        Pos(PiiEntities.BearerToken, $"request failed, headers were: Accept: */*\nAuthorization: Bearer {Opaque()}\nUser-Agent: app/1.2");
        Pos(PiiEntities.BearerToken, $"client.DefaultRequestHeaders.Authorization = new(\"Bearer\", \"x\"); // Bearer {Opaque()}");
        Pos(PiiEntities.BearerToken, $"fetch(url, {{ headers: {{ authorization: 'Bearer {Opaque()}' }} }})");
        Pos(PiiEntities.BearerToken, $"the gateway logs show Bearer {Opaque()} for every call");
        Pos(PiiEntities.BearerToken, $"http GET api.internal/me 'Authorization:Bearer {Opaque()}'");
        Pos(PiiEntities.BearerToken, $"Proxy-Authorization: Bearer {Opaque()}");
        Pos(PiiEntities.BearerToken, $"AUTHORIZATION=Bearer {Opaque()}");
        Neg(PiiEntities.BearerToken, "Authorization: Bearer <token>");
        Neg(PiiEntities.BearerToken, "Authorization: Bearer $ACCESS_TOKEN");
        Neg(PiiEntities.BearerToken, "curl -H \"Authorization: Bearer ${API_TOKEN}\" https://api.internal/v2/orders");
        Neg(PiiEntities.BearerToken, "Authorization: Bearer YOUR_ACCESS_TOKEN");
        Neg(PiiEntities.BearerToken, "Bearer authentication is an HTTP authentication scheme.");

        string Basic() => Convert.ToBase64String(Encoding.UTF8.GetBytes($"svc-{R(Lower, 6)}:{R(Alnum, 16)}"));
        Pos(PiiEntities.BasicAuth, $"Authorization: Basic {Basic()}");
        Pos(PiiEntities.BasicAuth, $"curl -H \"Authorization: Basic {Basic()}\" https://registry.internal/v2/_catalog");
        Pos(PiiEntities.BasicAuth, $"{{\"Authorization\": \"Basic {Basic()}\"}}");
        Pos(PiiEntities.BasicAuth, $"curl -u deploy:{R(Alnum, 14)} https://nexus.internal/repository/");
        Pos(PiiEntities.BasicAuth, $"curl --user admin:{R(Alnum, 12)}! -X POST https://jenkins.internal/job/build");
        Pos(PiiEntities.BasicAuth, $"curl -u \"ci-bot:{R(Alnum, 20)}\" https://artifacts.internal/api/storage");
        Pos(PiiEntities.BasicAuth, $"the proxy needs Proxy-Authorization: Basic {Basic()}");
        Pos(PiiEntities.BasicAuth, $"curl -u {R(Alnum, 24)}: https://api.vendor.example/v1/items");
        Pos(PiiEntities.BasicAuth, $"headers = {{'Authorization': 'Basic {Basic()}'}}");
        Pos(PiiEntities.BasicAuth, $"401 again with Authorization: Basic {Basic()} - is the password expired?");
        Neg(PiiEntities.BasicAuth, "Authorization: Basic <base64(user:password)>");
        Neg(PiiEntities.BasicAuth, "curl -u username:password https://host/");
        Neg(PiiEntities.BasicAuth, "curl -u $USER:$PASS https://host/");
        Neg(PiiEntities.BasicAuth, "WWW-Authenticate: Basic realm=\"registry\"");
        Neg(PiiEntities.BasicAuth, "curl -u admin https://host/ (curl prompts for the password)");

        // ---- password and other secret-named assignments -----------------------------------------------------------
        string Password() => R(Alnum, 10 + r.Next(8)) + R("!@#%^&*-_", 1) + R(Digits, 2);
        Pos(PiiEntities.Password, $"DB_PASSWORD={Password()}");
        Pos(PiiEntities.Password, $"{{\"username\": \"admin\", \"password\": \"{Password()}\"}}");
        Pos(PiiEntities.Password, $"Server=db.internal;Database=shop;User Id=app;Password={Password()};");
        Pos(PiiEntities.Password, $"spring.datasource.password: {Password()}");
        Pos(PiiEntities.Password, $"the wifi passwd={Password()} stopped working");
        Pos(PiiEntities.Password, $"postgres:\n  user: app\n  password: \"{Password()}\"");
        Pos(PiiEntities.Password, $"redis_pwd = '{Password()}'");
        Pos(PiiEntities.Password, $"ssh_passphrase: {Password()}");
        Pos(PiiEntities.Password, $"SMTP_PASSWORD: {Password()}");
        Pos(PiiEntities.Password, $"new NetworkCredential(\"svc\", password: \"{Password()}\")");
        Neg(PiiEntities.Password, "password=changeme");
        Neg(PiiEntities.Password, "password: ********");
        Neg(PiiEntities.Password, "\"password\": \"${DB_PASSWORD}\"");
        Neg(PiiEntities.Password, "DB_PASSWORD=<your-db-password>");
        Neg(PiiEntities.Password, "password=password");
        Neg(PiiEntities.Password, "Forgot your password? Click the link in the e-mail.");

        string Secret() => R(Alnum, 24 + r.Next(16));
        Pos(PiiEntities.SecretAssignment, $"api_key={Secret()}");
        Pos(PiiEntities.SecretAssignment, $"client_secret: {Secret()}");
        Pos(PiiEntities.SecretAssignment, $"{{\"access_token\": \"{Secret()}\", \"token_type\": \"bearer\"}}");
        Pos(PiiEntities.SecretAssignment, $"X-Api-Key: {Secret()}");
        Pos(PiiEntities.SecretAssignment, $"SENDGRID_API_KEY={Secret()}");
        Pos(PiiEntities.SecretAssignment, $"webhook_secret = \"{Secret()}\"");
        Pos(PiiEntities.SecretAssignment, $"refresh_token={Secret()}&grant_type=refresh_token");
        Pos(PiiEntities.SecretAssignment, $"Authorization: Token {Secret()}");
        Pos(PiiEntities.SecretAssignment, $"\"credentials\": \"{Secret()}\"");
        Pos(PiiEntities.SecretAssignment, $"MAILGUN_SIGNING_KEY: {Secret()}");
        Neg(PiiEntities.SecretAssignment, "api_key=YOUR_API_KEY");
        Neg(PiiEntities.SecretAssignment, "client_secret: <client-secret>");
        Neg(PiiEntities.SecretAssignment, "\"access_token\": \"{{ access_token }}\"");
        Neg(PiiEntities.SecretAssignment, "secret=%APP_SECRET%");
        Neg(PiiEntities.SecretAssignment, "max_tokens=4096, temperature=0.2");
        Neg(PiiEntities.SecretAssignment, "\"token\": null");
        Neg(PiiEntities.SecretAssignment, $"request_id: {R(Hex, 8)}-{R(Hex, 4)}-{R(Hex, 4)}-{R(Hex, 4)}-{R(Hex, 12)}");
        Neg(PiiEntities.SecretAssignment, $"sha256: {R(Hex, 64)}");
        return cases;
    }

    private static string Token(Random r, string alphabet, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = alphabet[r.Next(alphabet.Length)];
        return new string(chars);
    }

    private static string B64Url(string json)
        => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
