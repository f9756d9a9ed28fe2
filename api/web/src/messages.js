// Private messages as a page: the artist's inbox for a release (one thread per holder) and
// a holder's thread with the artist. Only the two parties can read a thread: the API
// checks the signed-in account, so this page signs in with the wallet first.

import { choice, token } from './wallet.js';

const root = document.getElementById('inbox');
const release = root.dataset.release;
const artist = root.dataset.artist;
// Messages carry the sender as the API writes addresses (SS58, prefix 42).

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

async function api(path, options = {}) {
  const headers = { authorization: `Bearer ${await token()}`, ...(options.headers || {}) };
  const r = await fetch(path, { ...options, headers });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(j.message || `HTTP ${r.status}`), { status: r.status });
  return j;
}

async function showThread(fan) {
  const path = `/api/releases/${release}/threads/${fan}/messages`;
  const list = el('ol', { id: 'thread', class: 'thread' });
  const form = el('form', { id: 'send', class: 'card' },
    el('label', { for: 'body' }, 'Your message'),
    el('textarea', { id: 'body', name: 'body', rows: '3', maxlength: '4000', required: '' }),
    el('button', { type: 'submit' }, 'Send'));
  const heading = el('h2', {}, fan === choice()?.address ? 'Your thread with the artist' : `Thread with ${fan}`);
  root.replaceChildren(heading, list, form);
  const load = async () => {
    const page = await api(`${path}?limit=100`);
    list.replaceChildren(...page.items.map((m) => el('li', { class: m.sender === artist ? 'from-artist card' : 'from-fan card' },
      el('p', { class: 'muted' }, `${m.sender === artist ? 'artist' : 'holder'} · ${m.sent_at}`),
      el('p', {}, m.body))));
    if (page.items.length === 0) list.append(el('li', { class: 'muted' }, 'No messages yet.'));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = form.elements.namedItem('body');
    await api(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ body: body.value }) });
    body.value = '';
    await load();
  });
  await load();
}

async function showInbox() {
  const threads = await api(`/api/releases/${release}/threads`);
  const list = el('ul', { id: 'threads' });
  for (const t of threads) {
    const open = el('button', { type: 'button', class: 'small open-thread', 'data-fan': t.fan }, `${t.fan.slice(0, 10)}… · ${t.messages} message(s)`);
    open.addEventListener('click', () => showThread(t.fan));
    list.append(el('li', {}, open, t.last_at ? el('span', { class: 'muted' }, ` last ${t.last_at}`) : ''));
  }
  if (threads.length === 0) list.append(el('li', { class: 'muted' }, 'No holder yet.'));
  root.replaceChildren(el('h2', {}, 'Your holders'), list);
}

async function start() {
  const c = choice();
  if (!c) {
    root.textContent = 'Pick your wallet account at the top of the page to read your messages.';
    return;
  }
  try {
    // The artist's inbox; anyone else (the API says 403) sees their own thread.
    await showInbox().catch((e) => {
      if (e.status === 403) return showThread(c.address);
      throw e;
    });
  } catch (e) {
    root.textContent = e.message;
  }
}

start();
