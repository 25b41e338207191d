// bench.js — Hugging Face tokenizers (the npm package: the Rust library, prebuilt) on the text
// bench_tok wrote: load time, encode MB/s single-threaded, and the ids compared with wick's count.
//   node bench/tok/bench.js TOKENIZER_JSON TEXT_FILE [N_IDS_FROM_WICK]
process.env.RAYON_NUM_THREADS = '1';
process.env.TOKENIZERS_PARALLELISM = 'false';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(path.join(__dirname, 'node_modules', 'tokenizers'));

function cpuSeconds() {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
}

async function main() {
    const [tj, textPath, nWick] = process.argv.slice(2);
    let bestLoad = Infinity, tok;
    for (let r = 0; r < 5; r++) {
        const c0 = cpuSeconds();
        tok = Tokenizer.fromFile(tj);
        bestLoad = Math.min(bestLoad, cpuSeconds() - c0);
    }
    console.log(`  load tokenizer.json: ${(bestLoad * 1e3).toFixed(1)} ms cpu (best of 5)`);
    const text = fs.readFileSync(textPath, 'utf8');
    const bytes = Buffer.byteLength(text, 'utf8');
    let best = Infinity, bestWall = Infinity, ids = null;
    for (let r = 0; r < 3; r++) {
        const c0 = cpuSeconds(), w0 = process.hrtime.bigint();
        const enc = await tok.encode(text, null, { addSpecialTokens: false });
        const t = cpuSeconds() - c0;
        bestWall = Math.min(bestWall, Number(process.hrtime.bigint() - w0) / 1e9);
        ids = enc.getIds();
        best = Math.min(best, t);
    }
    console.log(`  encode: ${(bytes / 1e6).toFixed(2)} MB in ${best.toFixed(3)} s cpu = ` +
                `${(bytes / 1e6 / best).toFixed(1)} MB/s (wall ${bestWall.toFixed(3)} s), ` +
                `${ids.length} tokens` +
                (nWick ? (Number(nWick) === ids.length ? ' (same count as wick)' :
                          ` (wick: ${nWick}: DIFFERENT)`) : ''));
    // the same text one line at a time (how a server sees it), sequentially
    const lines = text.split(/(?<=\n)/);
    {
        const c0 = cpuSeconds();
        let n = 0;
        for (const l of lines) { n += (await tok.encode(l, null, { addSpecialTokens: false })).getIds().length; }
        const t = cpuSeconds() - c0;
        console.log(`  encode line by line (${lines.length} calls): ${t.toFixed(3)} s cpu = ` +
                    `${(bytes / 1e6 / t).toFixed(1)} MB/s, ${n} tokens`);
    }
    for (const [name, ch] of [['1 MB word without spaces', 'a'], ['1 MB of spaces', ' '],
                              ['1 MB of digits', '7']]) {
        const n = 1 << 20;
        const b = Buffer.alloc(n);
        for (let k = 0; k < n; k++) {
            b[k] = ch === '7' ? 48 + (k * 7 + Math.floor(k / 13)) % 10
                 : ch === 'a' ? 97 + (k * 7 + Math.floor(k / 5)) % 26 : 32;
        }
        const c0 = cpuSeconds();
        const enc = await tok.encode(b.toString('latin1'), null, { addSpecialTokens: false });
        console.log(`  ${name.padEnd(26)} ${(cpuSeconds() - c0).toFixed(3)} s cpu ` +
                    `(${enc.getIds().length} tokens)`);
    }
    if (process.env.WICK_BENCH_IDS) {
        fs.writeFileSync(process.env.WICK_BENCH_IDS, JSON.stringify(Array.from(ids)));
    }
}
main().catch((e) => { console.error(e); process.exit(1); });
