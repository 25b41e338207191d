// model.js — `wick serve` on real models: random-weight fixtures from tests/data/models, and the
// in-repo fake Hub (wick-minihub on 127.0.0.1) for models that are not loaded yet. The openai
// client and curl check: the first request for a Hub model (progress while downloading, then the
// answer), 404 / 502 / 503 with the reason, 32 concurrent greedy streams equal to sequential
// runs, stop strings, seed reproducibility, usage against /tokenize, clients that disconnect,
// shutdown during a stream.
// (A Hub that fails with 5xx is retried with backoff by the library: slow to test here; the
// 502 mapping is tested with a gated repo.)
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const L = require('./lib.js');
const { ok, sleep } = L;
const mod = require('openai');
const OpenAI = mod.OpenAI || mod.default || mod;

const BIN = process.env.WICK_BIN;
const DATA = process.env.WICK_TEST_DATA;
const TMP = path.join(process.env.WICK_BUILD_DIR, 'tmp-server-model');
const ASAN = process.env.WICK_ASAN === '1';
const LLAMA = path.join(DATA, 'models/llama-F32.gguf');
// The demo model (a small reasoning model trained on arithmetic): its checks run once it is in the repo.
const DEMO = path.join(__dirname, '../../demo/hub/wick-demo/arith-GGUF/arith-Q4_K_M.gguf');
// Chat prompts rendered with the model's own Jinja template (tools, reasoning, tool calls) came
// with the commit that added test_gen_chat.c; before it the checks that need them are skipped.
const JINJA_CHAT = fs.existsSync(path.join(__dirname, '../unit/test_gen_chat.c'));
// `wick run`'s text for the same request (its trailing newline dropped)
const wickRun = (args) => execFileSync(BIN, ['run', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .replace(/\n$/, '');
const textOf = (events) => events.filter((e) => e !== '[DONE]' && e.choices && e.choices[0])
    .map((e) => e.choices[0].text !== undefined ? e.choices[0].text : e.choices[0].delta.content || '').join('');

function minihub(root, args) {
    return new Promise((resolve, reject) => {
        const p = spawn(process.env.WICK_MINIHUB, ['--root', root, '--port', '0', '--log', path.join(TMP, 'hub.log'),
            '--exit-after', '300', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        p.stdout.on('data', (d) => {
            out += d;
            if (out.includes('\n')) resolve({ proc: p, port: +out.trim() });
        });
        p.on('exit', (c) => reject(new Error('minihub exited ' + c)));
    });
}

function hubRepos() {
    fs.rmSync(TMP, { recursive: true, force: true });
    const root = path.join(TMP, 'hub');
    fs.mkdirSync(path.join(root, 'wick-test/tiny-GGUF'), { recursive: true });
    fs.mkdirSync(path.join(root, 'wick-test/broken-GGUF'), { recursive: true });
    fs.mkdirSync(path.join(root, 'wick-test/gated-GGUF'), { recursive: true });
    fs.copyFileSync(path.join(DATA, 'models/llama-Q4_K_M.gguf'), path.join(root, 'wick-test/gated-GGUF/gated-Q4_K_M.gguf'));
    fs.copyFileSync(path.join(DATA, 'models/llama-Q4_K_M.gguf'), path.join(root, 'wick-test/tiny-GGUF/tiny-Q4_K_M.gguf'));
    fs.copyFileSync(path.join(DATA, 'models/llama-Q8_0.gguf'), path.join(root, 'wick-test/tiny-GGUF/tiny-Q8_0.gguf'));
    if (fs.existsSync(DEMO)) {
        fs.mkdirSync(path.join(root, 'wick-demo/arith-GGUF'), { recursive: true });
        fs.copyFileSync(DEMO, path.join(root, 'wick-demo/arith-GGUF/arith-Q4_K_M.gguf'));
    }
    const junk = Buffer.alloc(300000, 7);
    junk.write('GGUF', 0);
    fs.writeFileSync(path.join(root, 'wick-test/broken-GGUF/broken-Q4_K_M.gguf'), junk);
    return root;
}

async function fromHub(srv, hubLog) {
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0 });
    // The first request for a model that is not loaded: a stream shows the download as comments.
    const cu = L.curl(['-N', '-H', 'Content-Type: application/json', '-d', JSON.stringify({
        model: 'wick-test/tiny-GGUF', prompt: 'Hello', max_tokens: 8, temperature: 0, stream: true }),
        srv.url + '/v1/completions']);
    const p = L.parseSSE(cu.out);
    ok(cu.rc === 0 && p.comments >= 1 && /^: download \d+\/\d+/m.test(cu.out) && p.events.length >= 3 &&
        p.events[p.events.length - 1] === '[DONE]', 'first request for a Hub model: download progress comments, then the answer',
    cu.out.slice(0, 300));
    const r = await c.completions.create({ model: 'wick-test/tiny-GGUF', prompt: 'Hello', max_tokens: 8, temperature: 0 });
    ok(r.choices[0].text === textOf(p.events) && r.usage.completion_tokens === 8,
        'the same model again: loaded, the same greedy text', { a: r.choices[0].text, b: textOf(p.events) });
    const gets = fs.readFileSync(hubLog, 'utf8').split('\n').filter((l) => /^GET \/cdn\//.test(l)).length;
    ok(gets === 1, `one download (${gets})`);
    const q8 = await c.completions.create({ model: 'hf.co/wick-test/tiny-GGUF:q8_0', prompt: 'Hello', max_tokens: 4, temperature: 0 });
    ok(q8.usage.completion_tokens === 4, 'a tag picks another file of the repo (hf.co/OWNER/REPO:TAG)');
    const ms = await c.models.list();
    const tiny = ms.data.find((m) => m.id === 'wick-test/tiny-GGUF');
    ok(tiny && tiny.status.value === 'loaded', '/v1/models: the Hub model, loaded', ms.data);

    const status = async (pr) => { try { await pr; return 200; } catch (e) { return e.status || String(e); } };
    const nf = await L.req(srv.url, '/v1/chat/completions', { model: 'wick-test/nothing-here', messages: [{ role: 'user', content: 'x' }] });
    ok(nf.status === 404 && /wick-test\/nothing-here/.test(nf.json.error.message), 'unknown repo: 404 naming it', nf.text);
    const nt = await L.req(srv.url, '/v1/completions', { model: 'wick-test/tiny-GGUF:Q2_K', prompt: 'x', stream: true });
    ok(nt.status === 404 && /Q4_K_M/.test(nt.json.error.message), 'a tag that matches nothing: 404 listing what there is', nt.text);
    ok(await status(c.completions.create({ model: 'wick-test/broken-GGUF', prompt: 'x' })) === 503, 'a corrupt GGUF: 503 (openai client)');
    const br = await L.req(srv.url, '/v1/completions', { model: 'wick-test/broken-GGUF', prompt: 'x' });
    ok(br.status === 503 && /broken-Q4_K_M\.gguf/.test(br.json.error.message), 'a corrupt GGUF: 503 naming the file', br.text);
    const gt = await L.req(srv.url, '/v1/completions', { model: 'wick-test/gated-GGUF', prompt: 'x' });
    ok(gt.status === 502 && gt.json.error.code === 'model_download_failed' && /gated/i.test(gt.json.error.message),
        'the Hub refuses the download (gated repo): 502 with the reason', gt.text);
}

async function greedy(srv) {
    const N = ASAN ? 8 : 32;
    const prompts = Array.from({ length: 8 }, (_, i) => `Story number ${i}: once upon a time`);
    const body = (p, stream) => ({ model: LLAMA, prompt: p, max_tokens: 24, temperature: 0, stream });
    const seq = [];
    for (const p of prompts) seq.push((await L.req(srv.url, '/v1/completions', body(p, false))).json.choices[0].text);
    const t0 = Date.now();
    const par = await Promise.all(Array.from({ length: N }, async (_, i) => {
        const r = await L.req(srv.url, '/v1/completions', body(prompts[i % 8], true));
        return textOf(L.parseSSE(r.text).events);
    }));
    const same = par.filter((t, i) => t === seq[i % 8]).length;
    ok(same === N && new Set(seq).size > 1, `${N} concurrent greedy streams = the sequential runs (${same}/${N}, ${Date.now() - t0} ms)`,
        { seq, par: par.slice(0, 8) });

    const run = wickRun([LLAMA, prompts[0], '--max-tokens', '24', '--temperature', '0']);
    ok(run === seq[0], 'greedy completion = `wick run` on the same prompt', { run, seq: seq[0] });

    // chat through the openai client, streamed and not: the same greedy text
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const msgs = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Name three colours.' }];
    const a = await c.chat.completions.create({ model: LLAMA, messages: msgs, max_tokens: 16, temperature: 0 });
    const s = await c.chat.completions.create({ model: LLAMA, messages: msgs, max_tokens: 16, temperature: 0, stream: true,
        stream_options: { include_usage: true } });
    let text = '', usage = null;
    for await (const ch of s) {
        if (ch.usage) usage = ch.usage;
        if (ch.choices[0] && ch.choices[0].delta.content) text += ch.choices[0].delta.content;
    }
    ok(a.choices[0].message.content === text && text.length > 0, 'chat: streamed and non-streamed greedy text agree', { a: a.choices[0].message.content, text });
    const runChat = wickRun([LLAMA, '--chat', 'Name three colours.', '--system', 'Be brief.', '--max-tokens', '16', '--temperature', '0']);
    ok(runChat === text, 'chat: the same text as `wick run --chat`', { runChat, text });
    ok(usage && usage.prompt_tokens === a.usage.prompt_tokens && usage.completion_tokens === a.usage.completion_tokens,
        'chat: usage of the stream = usage of the answer', { usage, u: a.usage });
    const again = await c.chat.completions.create({ model: LLAMA, messages: msgs, max_tokens: 16, temperature: 0 });
    ok(again.usage.prompt_tokens_details.cached_tokens > 0 && again.choices[0].message.content === a.choices[0].message.content,
        `the same conversation again: prompt tokens from the cache (${again.usage.prompt_tokens_details.cached_tokens}), same text`);

    // stop strings: the answer ends before the first match, finish_reason stop
    const full = seq.find((t) => t.length > 12);
    const stop = full.slice(6, 9);
    const cut = full.slice(0, full.indexOf(stop));
    const st = await L.req(srv.url, '/v1/completions', { ...body(prompts[seq.indexOf(full)], false), stop: ['zzzzqq', stop] });
    ok(st.json.choices[0].text === cut && st.json.choices[0].finish_reason === 'stop',
        `stop string ${JSON.stringify(stop)}: text cut before it, finish stop`, { got: st.json.choices[0].text, cut });

    // seeds: same seed, same text; another seed, another text
    const sampled = (seed) => L.req(srv.url, '/v1/completions', { model: LLAMA, prompt: 'Once', max_tokens: 24, temperature: 1.0, top_k: 0, top_p: 1, min_p: 0, seed });
    const [s1, s2, s3] = await Promise.all([sampled(7), sampled(7), sampled(8)]);
    ok(s1.json.choices[0].text === s2.json.choices[0].text && s1.json.choices[0].text !== s3.json.choices[0].text,
        'seed: same seed same text, another seed another text', [s1.json.choices[0].text, s3.json.choices[0].text]);
    const runSeed = wickRun([LLAMA, 'Once', '--max-tokens', '24', '--temperature', '1', '--top-k', '0', '--top-p', '1', '--min-p', '0', '--seed', '7']);
    ok(runSeed === s1.json.choices[0].text, 'seed 7: the same text as `wick run --seed 7`', { runSeed, s: s1.json.choices[0].text });

    // logprobs: one entry per token, top_logprobs most likely first, greedy picks the first; the stream's = the answer's
    const lpq = { model: LLAMA, messages: msgs, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 3 };
    const lp = await c.chat.completions.create(lpq);
    const lc = lp.choices[0].logprobs && lp.choices[0].logprobs.content;
    const sorted = lc && lc.every((t) => t.top_logprobs.length === 3 && t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob &&
        t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob && t.logprob === t.top_logprobs[0].logprob && t.logprob <= 0);
    ok(lc && lc.length === lp.usage.completion_tokens && sorted,
        `logprobs: ${lc && lc.length} entries for ${lp.usage.completion_tokens} tokens, top 3 sorted, greedy = the most likely`, lc && lc.slice(0, 2));
    const lps = await c.chat.completions.create({ ...lpq, stream: true });
    const slc = [];
    for await (const ch of lps) if (ch.choices[0] && ch.choices[0].logprobs) slc.push(...ch.choices[0].logprobs.content);
    ok(JSON.stringify(slc) === JSON.stringify(lc), 'logprobs: the stream carries the same entries', { n: slc.length });

    // usage against /tokenize
    const tk = await L.req(srv.url, '/tokenize', { model: LLAMA, content: prompts[0], add_special: true });
    const u = (await L.req(srv.url, '/v1/completions', body(prompts[0], false))).json.usage;
    ok(tk.status === 200 && u.prompt_tokens === tk.json.tokens.length && u.completion_tokens === 24 &&
        u.total_tokens === u.prompt_tokens + 24, `usage: prompt_tokens = /tokenize's count (${u.prompt_tokens})`, { u, tk: tk.text });
    const dt = await L.req(srv.url, '/detokenize', { model: LLAMA, tokens: tk.json.tokens.slice(1) });
    ok(dt.json.content === prompts[0], '/detokenize(/tokenize(x)) = x', dt.text);
    const ids = await L.req(srv.url, '/v1/completions', { model: LLAMA, prompt: tk.json.tokens, max_tokens: 24, temperature: 0 });
    ok(ids.json.choices[0].text === seq[0], 'a prompt of token ids = the same prompt as text', ids.text.slice(0, 200));
}

// Answers and reasoning_content that must be right: the demo model's greedy answers to questions it
// never saw (those its torch original answers right), streamed and not, all at once as the first
// requests for it (served from the fake Hub: one download, one load).
async function demo(srv) {
    if (!fs.existsSync(DEMO) || !JINJA_CHAT) {
        console.log('note: no demo model in demo/hub or no Jinja chat prompts: its checks are skipped');
        return;
    }
    const qs = JSON.parse(fs.readFileSync(path.join(DATA, 'demo/arith-questions.json'), 'utf8')).questions
        .filter((q) => q.torch === q.answer).slice(0, ASAN ? 2 : 6);
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const ask = (q, stream) => c.chat.completions.create({ model: 'wick-demo/arith-GGUF', messages: [{ role: 'user', content: q.q }],
        max_tokens: 400, temperature: 0, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) });
    const lastNumber = (t) => { const m = (t || '').match(/-?\d+(?=\D*$)/); return m ? +m[0] : null; };
    const res = await Promise.all(qs.map(async (q) => {
        const a = await ask(q, false);
        const s = await ask(q, true);
        let content = '', reasoning = '', mixed = 0, usage = null;
        for await (const ch of s) {
            if (ch.usage) usage = ch.usage;
            const d = ch.choices[0] && ch.choices[0].delta;
            if (!d) continue;
            if (d.content && d.reasoning_content) mixed++;
            content += d.content || '';
            reasoning += d.reasoning_content || '';
        }
        return { q, m: a.choices[0].message, u: a.usage, content, reasoning, mixed, usage };
    }));
    const right = res.filter((r) => lastNumber(r.m.content) === r.q.answer).length;
    ok(right === qs.length, `demo model: ${right}/${qs.length} answers right in content`, res.map((r) => [r.q.q, r.m.content]));
    ok(res.every((r) => r.m.reasoning_content && r.m.reasoning_content.length > 10 && !/<\/?think>/.test(r.m.content + r.m.reasoning_content) &&
        !r.m.content.includes(r.m.reasoning_content)), 'demo model: reasoning_content apart from content, no think tags',
    res.map((r) => r.m));
    ok(res.every((r) => r.content === r.m.content && r.reasoning === (r.m.reasoning_content || '') && r.mixed === 0),
        'demo model: the stream\'s reasoning_content and content deltas = the answer\'s', res.map((r) => {
        let i = 0;
        while (i < r.content.length && r.content[i] === r.m.content[i]) i++;
        return { differ_at: i, stream: r.content.slice(i, i + 40), answer: (r.m.content || '').slice(i, i + 40), mixed: r.mixed };
    }));
    const lines = execFileSync(BIN, ['run', DEMO, '--chat', qs[0].q, '--max-tokens', '400', '--temperature', '0', '--json'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((l) => l).map((l) => JSON.parse(l));
    const of = (type) => lines.filter((c) => c.type === type).map((c) => c.text).join('');
    ok(of('content') === res[0].m.content && of('reasoning') === res[0].m.reasoning_content,
        'demo model: content and reasoning_content = `wick run --chat --json`\'s chunks', { content: of('content'), reasoning: of('reasoning') });
    ok(res.every((r) => r.u.completion_tokens_details.reasoning_tokens > 0 &&
        r.u.completion_tokens_details.reasoning_tokens < r.u.completion_tokens && r.usage.completion_tokens === r.u.completion_tokens),
    'demo model: usage counts the reasoning tokens', res.map((r) => r.u));
}

// A conversation with tools, a reasoning assistant turn with a tool call and the tool's result goes
// to the model's chat template whole: the prompt is `wick template`'s rendering of the same context
// (Kimi K2's template in the deepseek2 fixture); tool_choice none leaves the tools out.
async function toolHistory(srv) {
    if (!JINJA_CHAT) {
        console.log('note: no Jinja chat prompts (tests/unit/test_gen_chat.c): the tool-history checks are skipped');
        return;
    }
    const KIMI = path.join(DATA, 'models/deepseek2-Q4_K_M.gguf');
    const call = { id: 'functions.get_weather:0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
    const ctx = {
        messages: [{ role: 'system', content: 'Use the tools.' }, { role: 'user', content: 'Weather in Paris?' },
            { role: 'assistant', content: '', reasoning_content: 'I should call the tool.', tool_calls: [call] },
            { role: 'tool', tool_call_id: call.id, name: 'get_weather', content: '{"temp":21}' },
            { role: 'user', content: 'And in Rome?' }],
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
        add_generation_prompt: true,
    };
    const text = execFileSync(BIN, ['template', '--model', KIMI], { input: JSON.stringify(ctx), encoding: 'utf8' });
    const tk = await L.req(srv.url, '/tokenize', { model: KIMI, content: text });
    const q = { model: KIMI, messages: ctx.messages, tools: ctx.tools, max_tokens: 2, temperature: 0 };
    const a = await L.req(srv.url, '/v1/chat/completions', q);
    ok(text.includes('<think>I should call the tool.</think>') && text.includes('<|tool_call_begin|>functions.get_weather:0') &&
        text.includes('{"temp":21}') &&
        a.status === 200 && a.json.usage.prompt_tokens === tk.json.tokens.length,
    `tool history: the prompt is the template's rendering with tools, reasoning, call and result (${tk.json.tokens.length} tokens)`,
    { usage: a.json && a.json.usage, tokens: tk.json.tokens.length });
    const none = await L.req(srv.url, '/v1/chat/completions', { ...q, tool_choice: 'none' });
    ok(none.status === 200 && none.json.usage.prompt_tokens < a.json.usage.prompt_tokens, 'tool_choice none: no tool declarations in the prompt',
        none.json && none.json.usage);
}

// --model preloads in the background: the server answers at once while the model downloads, lists
// it as loading, and then serves requests that name no model with it.
async function preload(hubPort) {
    const t0 = Date.now();
    const srv = await L.start(BIN, ['--model', 'wick-test/tiny-GGUF:q8_0'], {
        HF_ENDPOINT: `http://127.0.0.1:${hubPort}`, HF_HUB_CACHE: path.join(TMP, 'cache2'), WICK_HUB_BACKOFF_MS: '20', HF_TOKEN: '',
    });
    try {
        const h = await L.req(srv.url, '/health');
        const ms = await L.req(srv.url, '/v1/models');
        const m = ms.json.data.find((d) => d.id === 'wick-test/tiny-GGUF:q8_0');
        ok(h.status === 200 && Date.now() - t0 < 1500 && m && m.status.value === 'loading',
            `--model: the server answers at once (${Date.now() - t0} ms) while the model loads`, ms.text);
        const r = await L.req(srv.url, '/v1/completions', { prompt: 'Hello', max_tokens: 4, temperature: 0 });
        const again = (await L.req(srv.url, '/v1/models')).json.data.find((d) => d.id === 'wick-test/tiny-GGUF:q8_0');
        ok(r.status === 200 && r.json.usage.completion_tokens === 4 && again.status.value === 'loaded',
            'a request without a model: the --model one, then listed as loaded', r.text.slice(0, 200));
    } finally {
        await L.stop(srv);
    }
}

async function disconnects(srv) {
    const long = { model: LLAMA, prompt: 'x', max_tokens: 4000, temperature: 0, stream: true };
    const s = await L.openRequest(srv.port, L.post('/v1/completions', long, ''), 2000);
    const busy = (await L.req(srv.url, '/health')).json.slots_processing;
    s.destroy();
    const t0 = Date.now();
    while (Date.now() - t0 < 3000 && (await L.req(srv.url, '/health')).json.slots_processing !== 0) await sleep(10);
    ok(busy === 1 && Date.now() - t0 < 500, `a client that leaves mid-stream frees its slot (${Date.now() - t0} ms)`);
}

(async () => {
    const root = hubRepos();
    const mh = await minihub(root, ['--throttle', '4000000', '--gated', 'wick-test/gated-GGUF']);
    const srv = await L.start(BIN, ['--parallel', '4', '--ctx', '2048'], {
        HF_ENDPOINT: `http://127.0.0.1:${mh.port}`, HF_HUB_CACHE: path.join(TMP, 'cache'), WICK_HUB_BACKOFF_MS: '20', HF_TOKEN: '',
    });
    try {
        await fromHub(srv, path.join(TMP, 'hub.log'));
        await greedy(srv);
        await demo(srv);
        await toolHistory(srv);
        await preload(mh.port);
        await disconnects(srv);
        // SIGTERM during a stream: the stream ends, exit 0
        const streaming = L.req(srv.url, '/v1/completions', { model: LLAMA, prompt: 'x', max_tokens: 4000, stream: true });
        await sleep(200);
        const st = await L.stop(srv);
        const r = await streaming;
        ok(st.code === 0 && st.ms < 3000 && /data: \[DONE\]\n\n$/.test(r.text), `SIGTERM during a stream: [DONE], exit 0 (${st.ms} ms)`);
    } finally {
        if (!srv.exited) srv.proc.kill('SIGKILL');
        mh.proc.kill('SIGTERM');
    }
    fs.rmSync(TMP, { recursive: true, force: true });
    L.done();
})().catch((e) => { console.log('FAIL: ' + (e.stack || e)); process.exit(1); });
