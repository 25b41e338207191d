// lib.js — helpers for the server tests: start `wick serve` (or wick-fakeserve) on 127.0.0.1 with
// --port 0, raw HTTP over sockets (for what a well-behaved client never sends), SSE parsing, checks.
'use strict';
const { spawn, execFileSync } = require('child_process');
const net = require('net');

let failures = 0;
let checks = 0;

function ok(cond, what, detail) {
    checks++;
    if (cond) {
        console.log(`ok: ${what}`);
    } else {
        failures++;
        console.log(`FAIL: ${what}${detail !== undefined ? ': ' + JSON.stringify(detail).slice(0, 600) : ''}`);
    }
    return !!cond;
}

function done() {
    console.log(`${checks - failures}/${checks} checks passed`);
    process.exit(failures ? 1 : 0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the server; resolves once its first stdout line names the address.
function start(bin, args, env) {
    return new Promise((resolve, reject) => {
        const p = spawn(bin, ['serve', '--port', '0', ...args], {
            env: { ...process.env, ...(env || {}) },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        const srv = { proc: p, stderr: '', firstLine: null, exited: null };
        p.stderr.on('data', (d) => { srv.stderr += d; });
        p.on('exit', (code, sig) => {
            srv.exited = { code, sig };
            if (!srv.firstLine) reject(new Error(`server exited (${code}) before listening: ${srv.stderr}`));
        });
        p.stdout.on('data', (d) => {
            out += d;
            const nl = out.indexOf('\n');
            if (nl >= 0 && !srv.firstLine) {
                srv.firstLine = out.slice(0, nl);
                const m = /^listening on http:\/\/([^ ]+):(\d+)$/.exec(srv.firstLine);
                if (!m) return reject(new Error(`bad first line: ${srv.firstLine}`));
                srv.port = +m[2];
                srv.url = `http://127.0.0.1:${srv.port}`;
                resolve(srv);
            }
        });
        setTimeout(() => reject(new Error('server did not start in 20 s')), 20000).unref();
    });
}

// SIGTERM and wait: resolves {code, sig, ms}.
function stop(srv, timeoutMs = 15000) {
    const t0 = Date.now();
    if (srv.exited) return Promise.resolve({ ...srv.exited, ms: 0 });
    return new Promise((resolve) => {
        const timer = setTimeout(() => { srv.proc.kill('SIGKILL'); }, timeoutMs);
        srv.proc.on('exit', (code, sig) => {
            clearTimeout(timer);
            resolve({ code, sig, ms: Date.now() - t0 });
        });
        srv.proc.kill('SIGTERM');
    });
}

// One raw exchange: writes `data` (string or Buffer), reads until the server closes or `untilMs`.
// Resolves {status, headers, body, raw, closed}.
function raw(port, data, { untilMs = 5000, keepOpen = false } = {}) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        const chunks = [];
        let closed = false;
        const finish = () => {
            const rawBuf = Buffer.concat(chunks);
            const text = rawBuf.toString('latin1');
            const m = /^HTTP\/1\.[01] (\d+)/.exec(text);
            const he = text.indexOf('\r\n\r\n');
            const head = he >= 0 ? text.slice(0, he) : text;
            const headers = {};
            for (const line of head.split('\r\n').slice(1)) {
                const i = line.indexOf(':');
                if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
            }
            resolve({ status: m ? +m[1] : 0, headers, body: he >= 0 ? rawBuf.slice(he + 4).toString() : '', raw: text, closed });
        };
        const timer = setTimeout(() => { s.destroy(); finish(); }, untilMs);
        s.on('data', (d) => chunks.push(d));
        s.on('error', () => {});
        s.on('close', () => { closed = true; clearTimeout(timer); finish(); });
        s.write(data);
        if (!keepOpen) s.end();
    });
}

function post(path, body, extraHeaders = 'Connection: close\r\n') {
    const b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return Buffer.concat([
        Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${b.length}\r\n${extraHeaders}\r\n`), b]);
}

// Sends a request on a socket of its own and resolves once `bytes` of the answer came (0: once
// sent); the caller destroys the socket to play a client that leaves.
function openRequest(port, data, bytes = 1) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        let got = 0;
        s.on('error', () => {});
        s.on('data', (d) => { got += d.length; if (bytes && got >= bytes) resolve(s); });
        s.write(data, () => { if (!bytes) resolve(s); });
    });
}

// fetch() a JSON endpoint: {status, headers, json, text}.
async function req(url, path, body, { method, headers, signal } = {}) {
    const r = await fetch(url + path, {
        method: method || (body === undefined ? 'GET' : 'POST'),
        headers: { 'Content-Type': 'application/json', ...(headers || {}) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal,
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
    return { status: r.status, headers: r.headers, json, text };
}

// Reads an SSE body: [{data: parsed JSON or '[DONE]'}], comments counted.
function parseSSE(text) {
    const events = [];
    let comments = 0;
    for (const block of text.split('\n\n')) {
        if (!block) continue;
        for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments++;
            else if (line.startsWith('data: ')) {
                const d = line.slice(6);
                events.push(d === '[DONE]' ? '[DONE]' : JSON.parse(d));
            }
        }
    }
    return { events, comments };
}

function curl(args) {
    try {
        return { rc: 0, out: execFileSync('curl', ['-sS', ...args], { encoding: 'utf8', timeout: 30000 }) };
    } catch (e) {
        return { rc: e.status, out: String(e.stdout || '') + String(e.stderr || '') };
    }
}

module.exports = { ok, done, sleep, start, stop, raw, post, req, parseSSE, curl, openRequest };
