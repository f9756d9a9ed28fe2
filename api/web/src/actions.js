// Contract actions from the pages: a form with class "action" describes one action
// (data-kind plus data-* and input fields); submitting it dry-runs the action on the API
// (a refusal is shown in one sentence, nothing is signed), asks the wallet to sign the
// payload, submits it and follows it: signed → in a block → finalized → indexed, then the
// page redraws itself from the read model.

import { choice, signer, token } from './wallet.js';
import { lines } from './wizard.js';

/** Fields whose values are numbers or booleans in the API's `Action`. */
const NUMBERS = new Set(['edition', 'perk', 'stars', 'escrow_bps', 'quantity_limit', 'max_editions', 'dispute_days', 'deadline']);
const BOOLEANS = new Set(['refund']);

const STAGE_WORDS = {
  checking: 'Checking with the contract (dry run, no fee)…',
  wallet: 'Waiting for your wallet’s signature…',
  signed: 'Signed and sent to the chain…',
  in_block: 'In a block; waiting for finality…',
  finalized: 'Final on chain; waiting for the read model…',
  indexed: 'Done',
  index_behind: 'Final on chain; the pages will show it once the indexer catches up.',
};

function value(name, raw) {
  if (BOOLEANS.has(name)) return raw === true || raw === 'true';
  if (NUMBERS.has(name)) return raw === '' || raw === null ? null : Number(raw);
  return raw;
}

/** The `Action` a form describes. */
export function actionOf(form) {
  const action = { type: form.dataset.kind };
  for (const [k, v] of Object.entries(form.dataset)) {
    if (k === 'kind') continue;
    const name = k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    action[name] = value(name, v);
  }
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'radio' && !el.checked) continue;
    if (el.type === 'checkbox') action[el.name] = el.checked;
    else if (el.dataset.time === 'days-from-now') action[el.name] = Date.now() + Number(el.value) * 86_400_000;
    else if (el.dataset.list === 'lines') action[el.name] = lines(el.value);
    else action[el.name] = value(el.name, el.value.trim());
  }
  return action;
}

class Refusal extends Error {}

async function prepare(signerAddress, action) {
  const headers = { 'content-type': 'application/json' };
  // A dispute's evidence is kept in the holder's name: the holder signs in first.
  if (action.type === 'dispute') headers.authorization = `Bearer ${await token()}`;
  const r = await fetch('/api/tx/prepare', {
    method: 'POST',
    headers,
    body: JSON.stringify({ signer: signerAddress, action }),
  });
  const j = await r.json().catch(() => ({}));
  if (r.status === 422 && j.error === 'refused') throw new Refusal(j.message);
  if (!r.ok) throw new Error(j.message || `HTTP ${r.status}`);
  return j;
}

/** Submits a signed payload; calls `onStage` with each progress event until the last. */
async function submit(payload, signature, onStage) {
  const r = await fetch('/api/tx/submit', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload, signature }),
  });
  if (!r.ok) {
    const j = await r.json().catch(() => ({}));
    throw new Error(j.message || `HTTP ${r.status}`);
  }
  const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let last = null;
  for (;;) {
    const { value: chunk, done } = await reader.read();
    if (done) break;
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('');
      if (!data) continue;
      last = JSON.parse(data);
      onStage(last);
      if (['indexed', 'index_behind', 'dropped'].includes(last.stage) || last.failed) {
        await reader.cancel();
        return last;
      }
    }
  }
  return last;
}

function show(out, text, kind) {
  out.textContent = text;
  out.dataset.kind = kind;
}

/** 32 random bytes as `0x` hex: the salt an automatic perk's secret (or pool) is committed with. */
function newSalt() {
  return '0x' + Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Where a salt waits until its secret is stored: the repair form on the release page reads it. */
export const saltKey = (release, perk) => `dreamster.salt.${release}.${perk}`;

/** Whether an action commits a secret (or codes), which then needs a salt. */
const commitsSecret = (action) =>
  action.type === 'add_perk' && action.delivery === 'automatic' && (action.secret || action.codes);

/** After an action: uploads an automatic perk's secret (or codes) once its hash is on chain. */
async function followUp(form, action, prepared) {
  const given = action.secret ? { secret: action.secret } : action.codes ? { codes: action.codes } : null;
  if (!commitsSecret(action) || !given || prepared.answer === null) return;
  const kept = `Its salt is ${action.salt}: this browser keeps it for the form "Store an automatic perk's secret".`;
  let r;
  try {
    r = await fetch(`/api/releases/${action.release}/perks/${prepared.answer}/secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
      body: JSON.stringify({ ...given, salt: action.salt }),
    });
  } catch (e) {
    throw new Error(`the perk is on chain, but its secret was not stored (${e.message}). ${kept}`, { cause: e });
  }
  if (!r.ok) {
    const j = await r.json().catch(() => ({}));
    throw new Error(`the perk is on chain, but its secret was not stored: ${j.message || `HTTP ${r.status}`}. ${kept}`);
  }
  localStorage.removeItem(saltKey(action.release, prepared.answer));
}

/**
 * When each stage of the last actions was reached (performance.now(), ms): what the bench
 * (`cargo bench -p dreamster-api --bench wallet`) reads to split a click's time into the
 * chain's part, the wallet's and ours.
 */
window.dreamsterTimings = window.dreamsterTimings || [];

/** Runs one form's action end to end; resolves with the final stage (or null). */
export async function run(form, out, redraw) {
  const t = { type: form.dataset.kind, click: performance.now() };
  window.dreamsterTimings.push(t);
  const c = choice();
  if (!c) {
    show(out, 'Connect a wallet and pick an account first (top of the page).', 'refused');
    return null;
  }
  const action = actionOf(form);
  // A fresh salt per perk, picked here so that only this browser and the API ever see it.
  if (commitsSecret(action)) action.salt = newSalt();
  const button = form.querySelector('button[type=submit]');
  if (button) button.disabled = true;
  try {
    show(out, STAGE_WORDS.checking, 'progress');
    const prepared = await prepare(c.address, action);
    t.prepared = performance.now();
    // Kept before signing, until the upload is accepted: whatever fails after the signature
    // (a closed tab, a dropped stream), the secret can still be stored with it later.
    if (commitsSecret(action) && prepared.answer !== null) {
      localStorage.setItem(saltKey(action.release, prepared.answer), action.salt);
    }
    show(out, `${STAGE_WORDS.wallet} (${prepared.summary})`, 'progress');
    // The account the payload was prepared for signs it, even if another tab switched.
    const { signature } = await (await signer(c)).signPayload(prepared.payload);
    t.wallet = performance.now();
    const last = await submit(prepared.payload, signature, (st) => {
      t[st.stage] = t[st.stage] || performance.now();
      if (st.failed) show(out, `Failed on chain: ${st.failed}`, 'refused');
      else if (st.stage === 'dropped') show(out, `The chain dropped it: ${st.reason}`, 'refused');
      else show(out, STAGE_WORDS[st.stage] || st.stage, 'progress');
    });
    if (last && (last.stage === 'indexed' || last.stage === 'index_behind')) {
      await followUp(form, action, prepared);
      show(out, `${STAGE_WORDS[last.stage]} — ${prepared.summary}, block #${last.block_number}.`, 'done');
      document.dispatchEvent(new CustomEvent('dreamster:landed', { detail: { action, prepared, last } }));
      await redraw();
      t.shown = performance.now();
    }
    return last;
  } catch (e) {
    // Only a refusal before anything was sent is "nothing was sent".
    const declined = !t.signed && /cancel|reject|declin/i.test(e.message);
    show(out, declined ? 'You declined in your wallet: nothing was sent.' : e.message, 'refused');
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}
