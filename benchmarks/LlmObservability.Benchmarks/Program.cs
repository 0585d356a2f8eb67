using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
