// The artist's webhook settings: where unlock notifications are POSTed (signed with an
// HMAC key shown once), whether the hook is on (and why not), and every delivery attempt.
// Signs in with the wallet first.

import { token } from './wallet.js';

const form = document.getElementById('webhook-form');
const out = document.getElementById('webhook-result');
const list = document.getElementById('webhook-deliveries');

async function api(path, options = {}) {
  const headers = { authorization: `Bearer ${await token()}`, ...(options.headers || {}) };
  const r = await fetch(path, { ...options, headers });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.message || `HTTP ${r.status}`);
  return j;
}

function item(d) {
  const li = document.createElement('li');
  const state = d.delivered ? 'delivered' : `not yet (${d.attempts} attempt(s)${d.last_error ? `: ${d.last_error}` : ''})`;
  li.textContent = `edition ${d.edition}, perk ${d.perk} (block #${d.block}): ${state}`;
  return li;
}

function describe(hook) {
  if (hook.disabled) return `Off: ${hook.disabled}.`;
  const failing = hook.failures_in_row > 0 ? `, ${hook.failures_in_row} failed call(s) in a row` : '';
  return `On: ${hook.url} (${hook.waiting} waiting${failing}).`;
}

async function showDeliveries() {
  const hook = await api('/api/me/webhook').catch(() => null);
  if (hook) out.textContent = describe(hook);
  const page = await api('/api/me/webhook/deliveries?limit=20');
  list.replaceChildren(...page.items.map(item));
  if (page.items.length === 0) list.textContent = 'No unlock notified yet.';
}

if (form) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const hook = await api('/api/me/webhook', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: form.elements.namedItem('url').value.trim() }),
      });
      await showDeliveries();
      out.textContent = `Saved. Verify each POST's X-Dreamster-Signature (over its timestamp, delivery id and body) with this key, shown once: ${hook.secret}`;
    } catch (e) {
      out.textContent = e.message;
    }
  });
  document.getElementById('webhook-refresh')?.addEventListener('click', () => showDeliveries().catch((e) => { out.textContent = e.message; }));
}
