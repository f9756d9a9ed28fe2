// Every page: the wallet bar (connect, pick an account, sign in and out), the action
// forms, revealing an unlocked perk's secret, and the perk wizard's template prefill.

import { accounts, choice, choose, extensionName, extensions, session, signIn, signOut, token } from './wallet.js';
import { run, saltKey } from './actions.js';
import { bindWizard, lines } from './wizard.js';

const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function status(text, kind = 'progress') {
  const out = $('#tx-status');
  out.textContent = text;
  out.dataset.kind = kind;
}

/** Redraws the page's main content from the server (the read model), keeping the bar. */
async function redraw() {
  const html = await (await fetch(location.href, { cache: 'no-store' })).text();
  const fresh = new DOMParser().parseFromString(html, 'text/html');
  // What the user had opened stays open.
  const open = [...document.querySelectorAll('main details[open][id]')].map((d) => d.id);
  const perksShown = $('#perks') && !$('#perks').hidden;
  $('main').replaceWith(fresh.querySelector('main'));
  for (const id of open) {
    const d = document.getElementById(id);
    if (d) d.open = true;
  }
  bindMain();
  if (perksShown) $('#view-perks')?.click();
}

/** "View Perks" shows and hides the release's perks (a listener: the pages' policy runs no
 * inline handler). */
function togglePerks(button) {
  const perks = $('#perks');
  perks.hidden = !perks.hidden;
  button.setAttribute('aria-expanded', String(!perks.hidden));
  button.textContent = perks.hidden ? 'View Perks' : 'Hide Perks';
}

const INSTALL = 'No wallet extension found. To buy and manage perks, install polkadot{.js} extension, Talisman or SubWallet, then reload; everything here stays readable without one.';

async function drawWallet() {
  const bar = $('#wallet');
  bar.replaceChildren(el('span', {}, 'Looking for wallets…'));
  const sources = await extensions();
  if (sources.length === 0) {
    bar.replaceChildren(el('span', { id: 'no-wallet' }, INSTALL));
    return;
  }
  const list = await accounts(sources);
  if (list.length === 0) {
    bar.replaceChildren(el('span', {}, `Found ${sources.map(extensionName).join(', ')}, but no account was shared with Dreamster.`));
    return;
  }
  const current = choice();
  const picked = list.find((a) => current && a.address === current.address && a.source === current.source);
  const select = el('select', { id: 'account', 'aria-label': 'Wallet account' },
    el('option', { value: '' }, 'Pick an account…'),
    ...list.map((a, i) => {
      const o = el('option', { value: String(i) }, `${a.name} (${extensionName(a.source)}) ${a.address.slice(0, 6)}…`);
      if (a === picked) o.selected = true;
      return o;
    }));
  select.addEventListener('change', () => {
    const a = list[Number(select.value)];
    if (a) {
      choose(a);
      drawWallet();
    }
  });
  const parts = [el('label', { for: 'account' }, 'Account '), select];
  if (picked) {
    if (session()) {
      parts.push(el('a', { href: `/fans/${picked.address}` }, ' My perks '),
        el('button', { type: 'button', id: 'sign-out', class: 'small', onclick: async () => { await signOut(); drawWallet(); } }, 'Sign out'));
    } else {
      parts.push(el('a', { href: `/fans/${picked.address}` }, ' My perks '),
        el('button', { type: 'button', id: 'sign-in', class: 'small', onclick: async () => {
          try {
            await signIn();
            status('Signed in.', 'done');
          } catch (e) {
            status(`Sign-in failed: ${e.message}`, 'refused');
          }
          drawWallet();
        } }, 'Sign in'));
    }
  }
  bar.replaceChildren(...parts);
}

/**
 * Reads something private about the entitlement a button names (`what`: its secret, or its
 * dispute's evidence), signing in first when needed, and shows it in `out`.
 */
async function showPrivate(button, what, out, render) {
  const { release, edition, perk } = button.dataset;
  try {
    const r = await fetch(`/api/releases/${release}/editions/${edition}/perks/${perk}/${what}`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    const j = await r.json();
    out.textContent = r.ok ? render(j) : j.message;
  } catch (e) {
    out.textContent = e.message;
  }
}

/** An unlocked automatic perk's secret, for its holder only. */
const reveal = (b) => showPrivate(b, 'secret', b.parentElement.querySelector('.secret'), (j) => j.secret);

/** A dispute's evidence, for the parties and the arbiters. */
const readEvidence = (b) => showPrivate(b, 'evidence', b.parentElement.querySelector('.evidence'),
  (j) => j.text ?? `No text was given through the pages; the hash on chain is ${j.hash}.`);

/** Stores an automatic perk's secret (the artist, signed in), e.g. after a failed upload. */
async function uploadSecret(form) {
  const out = form.querySelector('.outcome');
  try {
    const perk = form.elements.namedItem('perk').value;
    const codes = lines(form.elements.namedItem('codes').value);
    const secret = form.elements.namedItem('secret').value.trim();
    const kept = saltKey(form.dataset.release, perk);
    const salt = form.elements.namedItem('salt').value.trim() || localStorage.getItem(kept) || '';
    if (!codes.length === !secret) {
      out.textContent = 'Give either the secret or the codes.';
      return;
    }
    if (!salt) {
      out.textContent = 'Give the salt the perk was added with (the CLI printed it; the wizard kept it in the browser it ran in).';
      return;
    }
    const r = await fetch(`/api/releases/${form.dataset.release}/perks/${perk}/secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
      body: JSON.stringify(codes.length ? { codes, salt } : { secret, salt }),
    });
    const j = await r.json();
    if (r.ok) localStorage.removeItem(kept);
    out.textContent = r.ok ? 'Stored: unlocked holders get it now.' : j.message;
  } catch (e) {
    out.textContent = e.message;
  }
}

/** Each action form in `root` dry-runs, has the wallet sign, submits and redraws. */
function bindActions(root) {
  for (const form of root.querySelectorAll('form.action')) {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      run(form, $('#tx-status'), redraw);
    });
  }
}

// The page of deliveries to mark the artist last looked at (kept across redraws), and the
// latest load asked for (an earlier one that answers later is dropped).
let dueOffset = 0;
let dueLoad = 0;

/** Fills the artist tools' "Deliveries to mark" with the page from `offset`: the server
 * renders it (the same forms as every action), only when the tools are opened. */
async function loadDeliveries(offset) {
  const mine = ++dueLoad;
  const card = $('#deliveries');
  if (!card) return;
  try {
    const r = await fetch(`/releases/${card.dataset.release}/deliveries?offset=${offset}`, { cache: 'no-store' });
    if (!r.ok) throw new Error(`the server answered ${r.status}`);
    const fresh = new DOMParser().parseFromString(await r.text(), 'text/html').querySelector('#deliveries');
    if (!fresh) throw new Error('the answer held no deliveries');
    if (mine !== dueLoad) return;
    // The last one on a later page was marked: show the page before it.
    const earlier = fresh.querySelector('button.earlier');
    if (earlier && !fresh.querySelector('form.action')) return loadDeliveries(Number(earlier.dataset.offset));
    dueOffset = offset;
    $('#deliveries')?.replaceWith(fresh);
    bindActions(fresh);
    for (const b of fresh.querySelectorAll('button[data-offset]')) {
      b.addEventListener('click', () => loadDeliveries(Number(b.dataset.offset)));
    }
  } catch (e) {
    if (mine === dueLoad) {
      $('#deliveries')?.replaceChildren(el('h2', {}, 'Deliveries to mark'), el('p', { class: 'muted' }, `Could not load the deliveries: ${e.message}.`));
    }
  }
}

function bindMain() {
  const view = $('#view-perks');
  view?.addEventListener('click', () => togglePerks(view));
  bindActions(document);
  const tools = $('#artist-tools');
  tools?.addEventListener('toggle', () => {
    if (tools.open) loadDeliveries(dueOffset);
  });
  // Opened before this module ran (a slow load): its toggle came before the listener.
  if (tools?.open) loadDeliveries(dueOffset);
  for (const b of document.querySelectorAll('button.reveal')) b.addEventListener('click', () => reveal(b));
  for (const b of document.querySelectorAll('button.read-evidence')) b.addEventListener('click', () => readEvidence(b));
  $('#secret-upload')?.addEventListener('submit', (ev) => {
    ev.preventDefault();
    uploadSecret(ev.target);
  });
  bindWizard();
}

// `/me` is the picked account's own dashboard.
if (location.pathname === '/me') {
  const c = choice();
  if (c) location.replace(`/fans/${c.address}`);
}
bindMain();
drawWallet();
