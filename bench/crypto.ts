// The harness lives in packages/crypto/bench, where `effect` resolves; the repository root has no dependencies.
import { runCryptoBenchmark } from "../packages/crypto/bench/CryptoBenchmark.js"

const ratio = await runCryptoBenchmark((line) => console.log(line))
if (ratio < 0.8) process.exitCode = 1
