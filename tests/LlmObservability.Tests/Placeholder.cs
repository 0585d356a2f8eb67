namespace LlmObservability.Tests;
