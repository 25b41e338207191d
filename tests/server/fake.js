// fake.js — `wick serve`'s HTTP contract with a scripted backend (wick-fakeserve, see
// fake_backend.c): the official openai client and curl for chat, streams, reasoning_content, tool
// calls, usage, logprobs, completions, tokenize; every error status; queueing and 429; clients
// that disconnect; slow clients; a corpus of malformed requests; graceful shutdown.
'use strict';
const L = require('./lib.js');
const { ok, sleep } = L;
const mod = require('openai');
const OpenAI = mod.OpenAI || mod.default || mod;

const BIN = process.env.WICK_FAKESERVE;
const user = (t) => [{ role: 'user', content: t }];

async function chatBasics(srv) {
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0 });
    ok(/^listening on http:\/\/127\.0\.0\.1:\d+$/.test(srv.firstLine) && srv.port > 0,
        'first stdout line: listening on http://127.0.0.1:PORT (--port 0)', srv.firstLine);

    const r = await c.chat.completions.create({ model: 'fake/echo', messages: user('hello there') });
    const m = r.choices[0].message;
    ok(r.object === 'chat.completion' && /^chatcmpl-/.test(r.id), 'chat.completion object and id', r);
    ok(m.content === 'Echo: hello there', 'non-stream content', m);
    ok(m.reasoning_content === 'Thinking about: hello there' && !m.content.includes('Thinking'),
        'non-stream reasoning_content separate from content', m);
    ok(r.choices[0].finish_reason === 'stop', 'finish_reason stop');
    ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens === 7 &&
        r.usage.total_tokens === r.usage.prompt_tokens + 7 &&
        r.usage.completion_tokens_details.reasoning_tokens === 4 &&
        r.usage.prompt_tokens_details.cached_tokens === 0, 'usage with reasoning and cached tokens', r.usage);
    ok(r.timings && r.timings.predicted_n === 7 && r.timings.predicted_per_second > 0, 'timings', r.timings);

    // streamed, with usage
    const s = await c.chat.completions.create({
        model: 'fake/echo', messages: user('hello there'), stream: true, stream_options: { include_usage: true },
    });
    let content = '', reasoning = '', role = null, finish = null, usage = null, n = 0, afterFinish = 0;
    for await (const ch of s) {
        n++;
        if (ch.usage) { usage = ch.usage; ok(ch.choices.length === 0, 'usage chunk has no choices'); continue; }
        const d = ch.choices[0].delta;
        if (finish) afterFinish++;
        if (d.role) role = d.role;
        if (d.content) content += d.content;
        if (d.reasoning_content) reasoning += d.reasoning_content;
        if (ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
        ok(ch.object === 'chat.completion.chunk', 'chunk object', ch);
    }
    ok(role === 'assistant' && content === 'Echo: hello there' && reasoning === 'Thinking about: hello there',
        'stream: role, content and reasoning_content deltas apart', { role, content, reasoning });
    ok(finish === 'stop' && afterFinish === 0, 'stream: finish_reason on the last choice chunk');
    ok(usage && usage.completion_tokens === 7 && usage.prompt_tokens > 0, 'stream: include_usage chunk', usage);

    // thinking off both ways
    const off1 = await c.chat.completions.create({ model: 'fake/echo', messages: user('x'), reasoning_effort: 'none' });
    const off2 = await c.chat.completions.create({
        model: 'fake/echo', messages: user('x'), chat_template_kwargs: { enable_thinking: false },
    });
    ok(!off1.choices[0].message.reasoning_content && !off2.choices[0].message.reasoning_content,
        'reasoning_effort none / enable_thinking false: no reasoning');

    // max_tokens -> length
    const len = await c.chat.completions.create({ model: 'fake/echo', messages: user('a b c d e f'), max_tokens: 3 });
    ok(len.choices[0].finish_reason === 'length' && len.usage.completion_tokens === 3, 'max_tokens: finish length', len.usage);
    const len2 = await c.chat.completions.create({ model: 'fake/echo', messages: user('a b c d e f'), max_completion_tokens: 5 });
    ok(len2.usage.completion_tokens === 5, 'max_completion_tokens');

    // content parts, system/developer/assistant/tool messages are accepted
    const parts = await c.chat.completions.create({
        model: 'fake/echo', reasoning_effort: 'none',
        messages: [
            { role: 'developer', content: 'be brief' },
            { role: 'user', content: 'q' },
            { role: 'assistant', content: null, reasoning_content: 'hm',
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
            { role: 'tool', tool_call_id: 'call_1', content: '42' },
            { role: 'user', content: [{ type: 'text', text: 'two ' }, { type: 'text', text: 'parts' }] },
        ],
    });
    ok(parts.choices[0].message.content === 'Echo: two parts', 'content parts joined; every role accepted', parts.choices[0].message);

    // logprobs
    const lp = await c.chat.completions.create({
        model: 'fake/echo', messages: user('a b'), logprobs: true, top_logprobs: 2, reasoning_effort: 'none',
    });
    const lc = lp.choices[0].logprobs && lp.choices[0].logprobs.content;
    ok(lc && lc.length === 3 && lc[0].token === 'Echo:' && lc[0].top_logprobs.length === 2 &&
        Array.isArray(lc[0].bytes) && typeof lc[0].logprob === 'number', 'logprobs.content with top_logprobs', lc);
}

async function toolCalls(srv) {
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const r = await c.chat.completions.create({
        model: 'fake/echo', messages: user('what is the weather?'), tools, reasoning_effort: 'none',
    });
    const tc = r.choices[0].message.tool_calls;
    ok(tc && tc.length === 1 && tc[0].type === 'function' && tc[0].function.name === 'get_weather' &&
        JSON.parse(tc[0].function.arguments).city === 'Paris' && /^call_/.test(tc[0].id),
        'non-stream tool_calls', r.choices[0].message);
    ok(r.choices[0].finish_reason === 'tool_calls' && r.choices[0].message.content === null,
        'finish_reason tool_calls, content null', r.choices[0]);

    const s = await c.chat.completions.create({
        model: 'fake/echo', messages: user('what is the weather?'), tools, stream: true,
    });
    let calls = [], finish = null, reasoning = '';
    for await (const ch of s) {
        const d = ch.choices[0] && ch.choices[0].delta;
        if (d && d.tool_calls) calls.push(...d.tool_calls);
        if (d && d.reasoning_content) reasoning += d.reasoning_content;
        if (ch.choices[0] && ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
    }
    ok(calls.length === 1 && calls[0].index === 0 && calls[0].function.name === 'get_weather' &&
        calls[0].function.arguments === '{"city":"Paris"}' && calls[0].id, 'stream: delta.tool_calls', calls);
    ok(finish === 'tool_calls' && reasoning.startsWith('Thinking'), 'stream: finish tool_calls after reasoning');

    const none = await c.chat.completions.create({
        model: 'fake/echo', messages: user('what is the weather?'), tools, tool_choice: 'none',
    });
    ok(!none.choices[0].message.tool_calls && none.choices[0].finish_reason === 'stop', 'tool_choice none: no call');
}

async function completionsAndTokens(srv) {
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const r = await c.completions.create({ model: 'fake/echo', prompt: 'once upon', max_tokens: 50 });
    ok(r.object === 'text_completion' && r.choices[0].text === 'once upon and so on', 'completions: text', r);
    const s = await c.completions.create({ model: 'fake/echo', prompt: 'once upon', max_tokens: 50, stream: true });
    let text = '', finish = null;
    for await (const ch of s) {
        text += ch.choices[0].text;
        if (ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
    }
    ok(text === 'once upon and so on' && finish === 'stop', 'completions: streamed text', text);
    const d = await c.completions.create({ model: 'fake/echo', prompt: 'a b c d e f g h i j k l m n o p q r s' });
    ok(d.choices[0].finish_reason === 'length' && d.usage.completion_tokens === 16, 'completions: default max_tokens 16');
    const ids = await L.req(srv.url, '/v1/completions', { model: 'fake/echo', prompt: [1, 2, 3] });
    ok(ids.status === 200, 'completions: prompt as token ids', ids.text);
    const lp = await c.completions.create({ model: 'fake/echo', prompt: 'x', logprobs: 1 });
    const l = lp.choices[0].logprobs;
    ok(l && l.tokens.length === 4 && l.token_logprobs.length === 4 && l.text_offset[1] === 1 &&
        l.top_logprobs.length === 4, 'completions: legacy logprobs', l);

    const t = await L.req(srv.url, '/tokenize', { model: 'fake/echo', content: 'hé' });
    ok(t.status === 200 && JSON.stringify(t.json.tokens) === '[104,195,169]', '/tokenize', t.text);
    const tp = await L.req(srv.url, '/tokenize', { model: 'fake/echo', content: 'ab', with_pieces: true });
    ok(tp.status === 200 && tp.json.tokens[1].id === 98 && tp.json.tokens[1].piece === 'b', '/tokenize with_pieces', tp.text);
    const dt = await L.req(srv.url, '/detokenize', { model: 'fake/echo', tokens: [104, 105] });
    ok(dt.status === 200 && dt.json.content === 'hi', '/detokenize', dt.text);

    const h = await L.req(srv.url, '/health');
    ok(h.status === 200 && h.json.status === 'ok' && h.json.slots_idle === 2, '/health', h.text);
    const ms = await c.models.list();
    ok(ms.data.some((m) => m.id === 'fake/echo') && ms.data.some((m) => m.id === 'echo' && m.alias_of === 'fake/echo'),
        '/v1/models lists models and aliases', ms.data);
    const al = await c.chat.completions.create({ model: 'echo', messages: user('via alias'), reasoning_effort: 'none' });
    ok(al.choices[0].message.content === 'Echo: via alias' && al.model === 'echo', '--alias NAME=SPEC');
    const dm = await L.req(srv.url, '/v1/chat/completions', { messages: user('no model'), reasoning_effort: 'none' });
    ok(dm.status === 200 && dm.json.choices[0].message.content === 'Echo: no model', 'one alias: the default model');
}

async function errors(srv) {
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const status = async (p) => { try { await p; return 200; } catch (e) { return e.status || String(e); } };
    ok(await status(c.chat.completions.create({ model: 'nobody/nothing', messages: user('x') })) === 404,
        'unknown model: 404 (openai client)');
    const nf = await L.req(srv.url, '/v1/chat/completions', { model: 'nobody/nothing', messages: user('x'), stream: true });
    ok(nf.status === 404 && nf.json.error.code === 'model_not_found' && /nobody\/nothing/.test(nf.json.error.message),
        'unknown model, streamed: still a 404 with the reason', nf.text);
    const net = await L.req(srv.url, '/v1/chat/completions', { model: 'fake/network', messages: user('x') });
    ok(net.status === 502 && /connection reset/.test(net.json.error.message), 'download failure: 502 with the reason', net.text);
    const bad = await L.req(srv.url, '/v1/chat/completions', { model: 'fake/corrupt', messages: user('x') });
    ok(bad.status === 503 && /overruns/.test(bad.json.error.message), 'load failure: 503 with the reason', bad.text);

    // while loading, a stream shows progress as SSE comments, then the error as its last event
    const ls = await L.req(srv.url, '/v1/chat/completions', { model: 'fake/corrupt', messages: user('x'), stream: true });
    const p = L.parseSSE(ls.text);
    const last2 = p.events.slice(-2);
    ok(ls.status === 200 && p.comments >= 2 && last2[0].error && /overruns/.test(last2[0].error.message) &&
        last2[1] === '[DONE]', 'stream: progress comments, then data: {error} and [DONE]', ls.text.slice(-400));
    const lo = await L.req(srv.url, '/v1/chat/completions', { model: 'fake/load', messages: user('x'), stream: true });
    const pl = L.parseSSE(lo.text);
    ok(lo.status === 200 && pl.comments >= 2 && /: download \d+\/10000/.test(lo.text) &&
        pl.events[pl.events.length - 1] === '[DONE]', 'stream while loading: progress comments then the answer');
    // the openai client ignores the comments and raises the in-stream error
    let got = '', err = null;
    try {
        const s = await c.chat.completions.create({ model: 'fake/midfail', messages: user('a b c d e'), stream: true, reasoning_effort: 'none' });
        for await (const ch of s) got += (ch.choices[0] && ch.choices[0].delta.content) || '';
    } catch (e) { err = e; }
    ok(got === 'Echo: a b' && err && /read error/.test(err.message), 'error after streaming began: the client sees it', { got, err: String(err) });

    const cases = [
        [{ model: 'fake/echo' }, 'messages'],
        [{ model: 'fake/echo', messages: [] }, 'messages'],
        [{ model: 'fake/echo', messages: 'hi' }, 'messages'],
        [{ model: 'fake/echo', messages: [{ role: 'bot', content: 'x' }] }, 'messages[0]'],
        [{ model: 'fake/echo', messages: [{ role: 'user' }] }, 'messages[0].content'],
        [{ model: 'fake/echo', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
        [{ model: 'fake/echo', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'messages[0].content'],
        [{ model: 'fake/echo', messages: user('x'), n: 2 }, 'n'],
        [{ model: 'fake/echo', messages: user('x'), temperature: 'hot' }, 'temperature'],
        [{ model: 'fake/echo', messages: user('x'), temperature: 7 }, 'temperature'],
        [{ model: 'fake/echo', messages: user('x'), top_p: 1.5 }, 'top_p'],
        [{ model: 'fake/echo', messages: user('x'), top_k: -3 }, 'top_k'],
        [{ model: 'fake/echo', messages: user('x'), min_p: -1 }, 'min_p'],
        [{ model: 'fake/echo', messages: user('x'), max_tokens: 0 }, 'max_tokens'],
        [{ model: 'fake/echo', messages: user('x'), max_tokens: 1e12 }, 'max_tokens'],
        [{ model: 'fake/echo', messages: user('x'), max_tokens: 2.5 }, 'max_tokens'],
        [{ model: 'fake/echo', messages: user('x'), max_completion_tokens: -7 }, 'max_completion_tokens'],
        [{ model: 'fake/echo', messages: user('x'), seed: 'x' }, 'seed'],
        [{ model: 'fake/echo', messages: user('x'), seed: 1.5 }, 'seed'],
        [{ model: 'fake/echo', messages: user('x'), stop: 5 }, 'stop'],
        [{ model: 'fake/echo', messages: user('x'), stop: [''] }, 'stop'],
        [{ model: 'fake/echo', messages: user('x'), stop: Array(17).fill('a') }, 'stop'],
        [{ model: 'fake/echo', messages: user('x'), presence_penalty: 3 }, 'presence_penalty'],
        [{ model: 'fake/echo', messages: user('x'), frequency_penalty: null, presence_penalty: '1' }, 'presence_penalty'],
        [{ model: 'fake/echo', messages: user('x'), logit_bias: { abc: 1 } }, 'logit_bias'],
        [{ model: 'fake/echo', messages: user('x'), logit_bias: { 5: 500 } }, 'logit_bias'],
        [{ model: 'fake/echo', messages: user('x'), top_logprobs: 3 }, 'top_logprobs'],
        [{ model: 'fake/echo', messages: user('x'), top_logprobs: 30, logprobs: true }, 'top_logprobs'],
        [{ model: 'fake/echo', messages: user('x'), logprobs: 'yes' }, 'logprobs'],
        [{ model: 'fake/echo', messages: user('x'), tools: {} }, 'tools'],
        [{ model: 'fake/echo', messages: user('x'), tools: [{ type: 'function', function: {} }] }, 'tools'],
        [{ model: 'fake/echo', messages: user('x'), tool_choice: 'always' }, 'tool_choice'],
        [{ model: 'fake/echo', messages: user('x'), tool_choice: 'required' }, 'tool_choice'],
        [{ model: 'fake/echo', messages: user('x'), reasoning_effort: 'extreme' }, 'reasoning_effort'],
        [{ model: 'fake/echo', messages: user('x'), chat_template_kwargs: { enable_thinking: 'no' } }, 'chat_template_kwargs'],
        [{ model: 'fake/echo', messages: user('x'), stream: 'yes' }, 'stream'],
        [{ model: 'fake/echo', messages: user('x'), stream_options: { include_usage: true } }, 'stream_options'],
        [{ model: 42, messages: user('x') }, 'model'],
        [{ model: '', messages: user('x') }, 'model'],
    ];
    let allNamed = true;
    for (const [body, param] of cases) {
        const r = await L.req(srv.url, '/v1/chat/completions', body);
        const e = r.json && r.json.error;
        const good = r.status === 400 && e && e.type === 'invalid_request_error' && e.param === param &&
            e.message.startsWith(param.replace(/\[.*$/, ''));
        if (!good) { allNamed = false; ok(false, `400 naming ${param}`, { body, got: r.text }); }
    }
    ok(allNamed, `${cases.length} bad chat requests: 400, error.param names the field`);
    const cc = [
        [{ model: 'fake/echo' }, 'prompt'],
        [{ model: 'fake/echo', prompt: ['a', 'b'] }, 'prompt'],
        [{ model: 'fake/echo', prompt: [] }, 'prompt'],
        [{ model: 'fake/echo', prompt: [1, -2] }, 'prompt'],
        [{ model: 'fake/echo', prompt: 'x', echo: true }, 'echo'],
        [{ model: 'fake/echo', prompt: 'x', best_of: 3 }, 'best_of'],
        [{ model: 'fake/echo', prompt: 'x', logprobs: 9 }, 'logprobs'],
    ];
    let ccOk = true;
    for (const [body, param] of cc) {
        const r = await L.req(srv.url, '/v1/completions', body);
        if (!(r.status === 400 && r.json && r.json.error.param === param)) { ccOk = false; ok(false, `completions 400 ${param}`, r.text); }
    }
    ok(ccOk, `${cc.length} bad completions requests: 400 naming the field`);
    const tk = await L.req(srv.url, '/tokenize', { model: 'fake/echo' });
    const dk = await L.req(srv.url, '/detokenize', { model: 'fake/echo', tokens: ['a'] });
    ok(tk.status === 400 && tk.json.error.param === 'content' && dk.status === 400 && dk.json.error.param === 'tokens',
        '/tokenize and /detokenize: 400 naming the field');

    const m405 = await L.req(srv.url, '/v1/chat/completions', undefined);
    ok(m405.status === 405 && m405.headers.get('allow') === 'POST' && m405.json.error, 'GET on a POST endpoint: 405 + Allow');
    const m404 = await L.req(srv.url, '/v2/nothing', {});
    ok(m404.status === 404 && m404.json.error.type === 'not_found_error', 'unknown path: 404 error object');

    // body limits: Content-Length over 8 MiB refused before reading; a chunked body too
    const big = await L.raw(srv.port, `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ${9 << 20}\r\n\r\n{`);
    ok(big.status === 413 && JSON.parse(big.body).error.code === 'request_too_large', 'Content-Length over 8 MiB: 413', big.raw.slice(0, 200));
    const huge = '{"model":"fake/echo","messages":[{"role":"user","content":"' + 'a'.repeat(9 << 20) + '"}]}';
    const hf = `${process.env.WICK_BUILD_DIR}/tmp-server-huge.json`;
    require('fs').writeFileSync(hf, huge);
    const cu = L.curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Content-Type: application/json',
        '--data-binary', '@' + hf, srv.url + '/v1/chat/completions']);
    ok(cu.out === '413', 'curl sending a 9 MiB body: 413', cu);
    const mb = 'x'.repeat(1 << 20);
    let chunked = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (let i = 0; i < 9; i++) chunked += `${(1 << 20).toString(16)}\r\n${mb}\r\n`;
    chunked += '0\r\n\r\n';
    const ck = await L.raw(srv.port, chunked, { keepOpen: true, untilMs: 10000 });
    ok(ck.status === 413, 'a chunked body over 8 MiB: 413 once read', ck.raw.slice(0, 100));
    require('fs').unlinkSync(hf);
    const hdr = await L.raw(srv.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(100000)}\r\n\r\n`);
    ok(hdr.status === 431 || hdr.status === 413 || (hdr.status === 0 && hdr.closed), 'headers over 64 KiB refused', hdr.status);
}

async function auth(bin) {
    const srv = await L.start(bin, ['--api-key', 's3cret-key']);
    const noKey = await L.req(srv.url, '/v1/models');
    ok(noKey.status === 401 && noKey.json.error.type === 'authentication_error' &&
        noKey.headers.get('www-authenticate') === 'Bearer', 'no key: 401');
    const wrong = await L.req(srv.url, '/v1/models', undefined, { headers: { Authorization: 'Bearer s3cret-kez' } });
    const shorter = await L.req(srv.url, '/v1/models', undefined, { headers: { Authorization: 'Bearer s3cret' } });
    const right = await L.req(srv.url, '/v1/models', undefined, { headers: { Authorization: 'Bearer s3cret-key' } });
    ok(wrong.status === 401 && shorter.status === 401 && right.status === 200, 'wrong/short key 401, right key 200');
    const health = await L.req(srv.url, '/health');
    ok(health.status === 200, '/health needs no key');
    const nm = await L.req(srv.url, '/v1/chat/completions', { messages: user('x') }, { headers: { Authorization: 'Bearer s3cret-key' } });
    ok(nm.status === 400 && nm.json.error.param === 'model', 'no model and no default model: 400 naming model', nm.text);
    const c = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'wrong', maxRetries: 0 });
    let st = 0;
    try { await c.chat.completions.create({ model: 'fake/echo', messages: user('x') }); } catch (e) { st = e.status; }
    ok(st === 401, 'openai client with a wrong key: 401');
    const c2 = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 's3cret-key', maxRetries: 0 });
    const r = await c2.chat.completions.create({ model: 'fake/echo', messages: user('k') });
    ok(r.choices[0].message.content === 'Echo: k', 'openai client with the key');
    const cu = L.curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Authorization: Bearer s3cret-key', srv.url + '/v1/models']);
    ok(cu.out === '200', 'curl with the key', cu);
    await L.stop(srv);
    // --api-key-file
    const fs = require('fs');
    const kf = `${process.env.WICK_BUILD_DIR}/tmp-server-key`;
    fs.writeFileSync(kf, 'file-key-123\n');
    const s2 = await L.start(bin, ['--api-key-file', kf]);
    const a = await L.req(s2.url, '/v1/models', undefined, { headers: { Authorization: 'Bearer file-key-123' } });
    const b = await L.req(s2.url, '/v1/models', undefined, { headers: { Authorization: 'Bearer file-key-12' } });
    ok(a.status === 200 && b.status === 401, '--api-key-file: first line is the key');
    await L.stop(s2);
    fs.unlinkSync(kf);
}

// --parallel 1 --queue 1: one runs, one waits, the third gets 429 with Retry-After.
async function queueAndDisconnect(bin) {
    const srv = await L.start(bin, ['--parallel', '1', '--queue', '1']);
    const body = { model: 'fake/slow', messages: user('x'), stream: true, max_tokens: 400 };
    const health = async () => (await L.req(srv.url, '/health')).json;
    const until = async (cond, ms) => {
        const t0 = Date.now();
        while (Date.now() - t0 < ms && !cond(await health())) await sleep(10);
        return Date.now() - t0;
    };
    const s1 = await L.openRequest(srv.port, L.post('/v1/chat/completions', body, ''), 600);
    const s2 = await L.openRequest(srv.port, L.post('/v1/chat/completions', body, ''), 0);
    await until((h) => h.requests_queued === 1, 1000);
    const h = await health();
    ok(h.slots_processing === 1 && h.requests_queued === 1, 'one running, one queued', h);
    const third = await L.req(srv.url, '/v1/chat/completions', body);
    ok(third.status === 429 && third.headers.get('retry-after') === '1' && third.json.error.type === 'rate_limit_error',
        'beyond the queue: 429 + Retry-After', third.text);

    s2.destroy(); // the queued client leaves: it is no longer queued
    let ms = await until((x) => x.requests_queued === 0, 2000);
    ok(ms < 1000, `a queued client that leaves leaves the queue (${ms} ms)`);
    s1.destroy(); // the streaming client leaves mid-stream: its slot is free and its job cancelled
    ms = await until((x) => x.slots_processing === 0, 3000);
    ok(ms < 1000, `a client that disconnects mid-stream frees its slot (${ms} ms)`);
    const t1 = Date.now();
    const next = await L.req(srv.url, '/v1/chat/completions', { model: 'fake/echo', messages: user('after') });
    ok(next.status === 200 && Date.now() - t1 < 1000, 'the next request runs at once');
    await sleep(100);
    ok(/fake: job \d+ cancelled/.test(srv.stderr), 'the disconnected stream was cancelled in the backend');

    // a non-streamed request whose client leaves while it waits (the watcher's case)
    const s3 = await L.openRequest(srv.port, L.post('/v1/chat/completions', { ...body, stream: false }, ''), 0);
    await until((x) => x.slots_processing === 1, 1000);
    await sleep(100);
    s3.destroy();
    ms = await until((x) => x.slots_processing === 0, 3000);
    ok(ms < 1000, `a non-stream client that leaves frees its slot (${ms} ms)`);

    // the queue serves in order: two at once through one slot both succeed
    const both = await Promise.all([0, 1].map((i) => L.req(srv.url, '/v1/chat/completions', { model: 'fake/echo', messages: user('q' + i) })));
    ok(both.every((r, i) => r.status === 200 && r.json.choices[0].message.content === 'Echo: q' + i), 'queued request served after the first');
    const st = await L.stop(srv);
    ok(st.code === 0, 'exit 0 on SIGTERM', st);
}

// Many at once, slow clients, malformed requests, keep-alive.
async function load(srv) {
    const N = 32;
    const t0 = Date.now();
    const res = await Promise.all(Array.from({ length: N }, async (_, i) => {
        const r = await L.req(srv.url, '/v1/chat/completions', {
            model: 'fake/echo', messages: user(`client ${i} says hi`), stream: true, reasoning_effort: 'none',
        });
        const p = L.parseSSE(r.text);
        return p.events.filter((e) => e !== '[DONE]' && e.choices[0]).map((e) => e.choices[0].delta.content || '').join('');
    }));
    ok(res.every((t, i) => t === `Echo: client ${i} says hi`), `${N} concurrent streams, each its own text (${Date.now() - t0} ms)`);

    // 64 slowloris clients (headers and bodies trickling in) do not stop others being served
    const net = require('net');
    const slow = [];
    for (let i = 0; i < 64; i++) {
        const s = net.connect(srv.port, '127.0.0.1');
        s.on('error', () => {});
        s.write(i % 2 ? 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'
            : 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"model":');
        slow.push(s);
    }
    const drip = setInterval(() => { for (const s of slow) s.write(s === slow[0] ? 'X' : ' '); }, 200);
    await sleep(300);
    const t1 = Date.now();
    let worst = 0, served = 0;
    for (let i = 0; i < 20; i++) {
        const t = Date.now();
        const r = await L.req(srv.url, '/v1/chat/completions', { model: 'fake/echo', messages: user('busy ' + i) });
        worst = Math.max(worst, Date.now() - t);
        if (r.status === 200) served++;
    }
    clearInterval(drip);
    ok(served === 20 && worst < 1000, `64 slow clients: 20 others served, slowest ${worst} ms (${Date.now() - t1} ms)`);
    for (const s of slow) s.destroy();

    // malformed requests: each a 4xx, and the server keeps serving
    const deep = '['.repeat(100000) + ']'.repeat(100000);
    const corpus = [
        Buffer.from('{"model": "fake/echo", "messages": ['),
        Buffer.from('not json at all'),
        Buffer.from(''),
        Buffer.from('[]'),
        Buffer.from('"a string"'),
        Buffer.from('null'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"max_tokens":1e999}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"max_tokens":99999999999999999999999}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"max_tokens":-1e308}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"temperature":1e400}'),
        Buffer.concat([Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')]),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"\\ud800"}]}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"a\\u0000b"}],"stop":"\\u0000"}'),
        Buffer.from('{"model":"fake/echo","model":"other","messages":[{"role":"user","content":"x"}]}'),
        Buffer.from(`{"model":"fake/echo","messages":${deep}}`),
        Buffer.from(`{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"tools":${'[{"a":'.repeat(3000)}1${'}]'.repeat(3000)}}`),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"logit_bias":{"-1":1}}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"logit_bias":{"007":1}}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"n":1e9}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":[{"type":"text"}]}]}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"assistant","tool_calls":[{"function":{"name":5}}]}]}'),
        Buffer.from('{"model":"fake/echo","messages":[{"role":"user","content":"x"}],"stream_options":[]}'),
        Buffer.from('\x00\x01\x02\x03'),
        Buffer.from('{"model":"' + 'm'.repeat(600) + '","messages":[{"role":"user","content":"x"}]}'),
    ];
    let all4xx = true;
    for (const body of corpus) {
        const r = await L.raw(srv.port, L.post('/v1/chat/completions', body));
        let e = null;
        try { e = JSON.parse(r.body).error; } catch (x) { /* checked below */ }
        if (!(r.status >= 400 && r.status < 500 && e && e.message)) {
            all4xx = false;
            ok(false, 'malformed request: a 4xx with an error object', { body: body.toString('latin1').slice(0, 80), status: r.status, resp: r.body.slice(0, 200) });
        }
    }
    ok(all4xx, `${corpus.length} malformed requests: each a 4xx with an error object`);
    const garbage = await L.raw(srv.port, 'GARBAGE\r\n\r\n');
    const badver = await L.raw(srv.port, 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n');
    ok(garbage.status >= 400 || garbage.closed, 'a garbage request line: refused');
    ok(badver.status >= 400 || badver.closed, 'an unknown HTTP version: refused');
    const h = await L.req(srv.url, '/health');
    ok(h.status === 200 && h.json.slots_processing === 0, 'still serving after the corpus', h.text);

    // keep-alive: two requests on one connection; a stream is chunked
    const two = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const ka = await L.raw(srv.port, two, { keepOpen: true });
    ok((ka.raw.match(/HTTP\/1\.1 200/g) || []).length === 2, 'keep-alive: two answers on one connection');
    // (the socket stays open for writing: a client that half-closes counts as gone, as in Go's net/http)
    const sse = await L.raw(srv.port, L.post('/v1/chat/completions', JSON.stringify({ model: 'fake/echo', messages: user('c'), stream: true })), { keepOpen: true });
    ok(sse.headers['transfer-encoding'] === 'chunked' && sse.headers['content-type'] === 'text/event-stream' &&
        /data: \[DONE\]/.test(sse.body), 'a stream is chunked text/event-stream', sse.headers);
    const cu = L.curl(['-N', '-H', 'Content-Type: application/json', '-d',
        JSON.stringify({ model: 'fake/echo', messages: user('from curl'), stream: true }), srv.url + '/v1/chat/completions']);
    ok(cu.rc === 0 && /"content":"Echo:"/.test(cu.out) && cu.out.trimEnd().endsWith('data: [DONE]'), 'curl -N: a stream', cu.out.slice(-200));
}

async function idleTimeout(bin) {
    const srv = await L.start(bin, ['--timeout', '1']);
    const t0 = Date.now();
    const r = await L.raw(srv.port, 'GET /health HTTP/1.1\r\nHo', { untilMs: 6000, keepOpen: true });
    ok(r.closed && Date.now() - t0 < 4500, `a client idle past --timeout is dropped (${Date.now() - t0} ms)`);
    await L.stop(srv);
}

async function shutdown(bin) {
    const srv = await L.start(bin, ['--parallel', '1', '--queue', '4']);
    const streaming = L.req(srv.url, '/v1/chat/completions', { model: 'fake/slow', messages: user('x'), stream: true });
    await sleep(150);
    const queued = L.req(srv.url, '/v1/chat/completions', { model: 'fake/echo', messages: user('y') });
    await sleep(100);
    const st = await L.stop(srv);
    const [s, q] = await Promise.all([streaming, queued]);
    const p = L.parseSSE(s.text);
    const last2 = p.events.slice(-2);
    ok(st.code === 0 && st.ms < 3000, `SIGTERM: exit 0 in ${st.ms} ms`, st);
    ok(last2[0] && last2[0].error && last2[1] === '[DONE]', 'SIGTERM: a running stream ends with an error event and [DONE]', s.text.slice(-300));
    ok(q.status === 503, 'SIGTERM: a queued request gets 503', q.text);
}

(async () => {
    const srv = await L.start(BIN, ['--parallel', '2', '--alias', 'echo=fake/echo']);
    await chatBasics(srv);
    await toolCalls(srv);
    await completionsAndTokens(srv);
    await errors(srv);
    await load(srv);
    const st = await L.stop(srv);
    ok(st.code === 0, 'exit 0 on SIGTERM');
    await auth(BIN);
    await queueAndDisconnect(BIN);
    await Promise.all([idleTimeout(BIN), shutdown(BIN)]);
    L.done();
})().catch((e) => { console.log('FAIL: ' + (e.stack || e)); process.exit(1); });
