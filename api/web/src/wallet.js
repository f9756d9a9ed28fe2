// The user's wallet: the extensions injected into `window.injectedWeb3` (polkadot.js,
// Talisman, SubWallet — and, on the local dev chain only, Dreamster's dev wallet), the
// account the user picked (remembered in this browser), and Sign-In with Substrate.

const APP_NAME = 'Dreamster';
const CHOICE_KEY = 'dreamster.wallet';
const TOKEN_KEY = 'dreamster.token';
const TOKEN_ADDRESS_KEY = 'dreamster.address';
// The wallet account (as its extension writes it, whatever its SS58 prefix) that signed in.
const SIGNED_AS_KEY = 'dreamster.signedAs';

/** Known extensions, for a friendlier name than their injection key. */
const NAMES = {
  'polkadot-js': 'polkadot{.js}',
  talisman: 'Talisman',
  'subwallet-js': 'SubWallet',
  'dreamster-dev': 'Dreamster dev wallet',
};

export function extensionName(source) {
  return NAMES[source] || source;
}

let chainInfo = null;

/** What the API says about the chain: genesis hash, whether the dev wallet is offered. */
export async function chain() {
  if (chainInfo) return chainInfo;
  const r = await fetch('/api/chain');
  if (!r.ok) throw new Error((await r.json()).message);
  chainInfo = await r.json();
  return chainInfo;
}

/** Loads the dev wallet's script, only when the API offers it (dev chain only). */
async function loadDevWallet() {
  let info;
  try {
    info = await chain();
  } catch {
    return;
  }
  if (!info.dev_wallet || (window.injectedWeb3 && window.injectedWeb3['dreamster-dev'])) return;
  await new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = '/assets/devwallet.js';
    s.onload = resolve;
    s.onerror = resolve;
    document.head.append(s);
  });
}

let discovery = null;

/** The installed extensions' keys; extensions may inject a moment after the page loads. */
export function extensions() {
  discovery = discovery || (async () => {
    await loadDevWallet();
    for (let i = 0; i < 10 && Object.keys(window.injectedWeb3 || {}).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    return Object.keys(window.injectedWeb3 || {});
  })();
  return discovery;
}

const enabled = new Map();

/** `enable("Dreamster")` on one extension, once per page. */
export async function enable(source) {
  // Any script of the page may ask first: wait until the extensions have been found.
  await extensions();
  if (!enabled.has(source)) {
    const entry = (window.injectedWeb3 || {})[source];
    if (!entry) throw new Error(`${extensionName(source)} is not installed`);
    enabled.set(source, entry.enable(APP_NAME));
  }
  try {
    return await enabled.get(source);
  } catch (e) {
    enabled.delete(source);
    throw e;
  }
}

/** Every account of every extension the user lets us see: [{source, address, name}]. */
export async function accounts(sources) {
  const all = [];
  for (const source of sources) {
    try {
      const injected = await enable(source);
      for (const a of await injected.accounts.get()) {
        all.push({ source, address: a.address, name: a.name || a.address.slice(0, 8) });
      }
    } catch (e) {
      console.warn(`${source}: ${e.message}`);
    }
  }
  return all;
}

export function choice() {
  try {
    return JSON.parse(localStorage.getItem(CHOICE_KEY));
  } catch {
    return null;
  }
}

export function choose(account) {
  localStorage.setItem(CHOICE_KEY, JSON.stringify({ source: account.source, address: account.address, name: account.name }));
  if (localStorage.getItem(SIGNED_AS_KEY) !== account.address) forgetSession();
}

/** The signer (`signPayload`, `signRaw`) of an account picked earlier (default: now). */
export async function signer(account = choice()) {
  if (!account) throw new Error('Connect a wallet and pick an account first.');
  return (await enable(account.source)).signer;
}

/** The session, if it belongs to the picked account. */
export function session() {
  const token = localStorage.getItem(TOKEN_KEY);
  const address = localStorage.getItem(TOKEN_ADDRESS_KEY);
  const c = choice();
  return token && address && c && localStorage.getItem(SIGNED_AS_KEY) === c.address ? { token, address } : null;
}

function forgetSession() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_ADDRESS_KEY);
  localStorage.removeItem(SIGNED_AS_KEY);
}

// Another tab picked another account or signed out: this one must not go on acting as
// the old account while showing it.
// (Only a switch of account: a sign-in elsewhere must not interrupt a transaction here.)
window.addEventListener('storage', (e) => {
  if (e.key === CHOICE_KEY && e.newValue !== e.oldValue) location.reload();
});

async function post(path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.message || `${path}: HTTP ${r.status}`);
  return j;
}

/** Sign-In with Substrate: the API's SIWS message, signed with the wallet's `signRaw`. */
export async function signIn() {
  const c = choice();
  if (!c) throw new Error('Connect a wallet and pick an account first.');
  const challenge = await post('/auth/challenge', { address: c.address });
  const { signature } = await (await signer(c)).signRaw({ address: c.address, data: challenge.message, type: 'bytes' });
  const s = await post('/auth/verify', { address: c.address, nonce: challenge.nonce, signature });
  localStorage.setItem(TOKEN_KEY, s.token);
  localStorage.setItem(TOKEN_ADDRESS_KEY, s.address);
  localStorage.setItem(SIGNED_AS_KEY, c.address);
  return s;
}

/** Revokes the session on the server, then forgets it here. */
export async function signOut() {
  const s = session();
  if (s) await post('/auth/logout', {}, s.token).catch(() => {});
  forgetSession();
}

/** The session token, signing in first when there is none for the chosen account. */
export async function token() {
  const s = session();
  if (s) return s.token;
  return (await signIn()).token;
}
