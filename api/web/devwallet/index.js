// Dreamster's dev wallet: the well-known dev accounts (//Alice, //Bob, …) behind exactly
// the interface browser extensions inject (`window.injectedWeb3[name].enable(origin)` →
// accounts + signer.signPayload / signer.signRaw), signing with real sr25519 keys the way
// the polkadot.js extension does. It refuses to work on any chain but the local dev chain
// (genesis hash checked), and asks before every signature, like an extension's popup.
//
// Tests load it with `window.dreamsterDevWallet = { name, accounts, autoApprove }` set
// first, to inject it under another name (e.g. "polkadot-js") or to answer the prompt.

import { Keyring } from '@polkadot/keyring';
import { TypeRegistry } from '@polkadot/types';
import { u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { cryptoWaitReady } from '@polkadot/util-crypto';

/** substrate-contracts-node 0.42.0 --dev; the API's `DEV_CHAIN_GENESIS`. */
const DEV_CHAIN_GENESIS = '0x350783c3a0be3291c03faed9810ac4a28bd38f088c4934f1654c279c7e45ba5c';
// The demo's arbiter is //Arbiter (see `dreamster demo`).
const DEV_ACCOUNTS = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie', 'Arbiter'];

const options = window.dreamsterDevWallet || {};
const name = options.name || 'dreamster-dev';

let pairs = null;
async function keys() {
  if (!pairs) {
    await cryptoWaitReady();
    const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
    pairs = (options.accounts || DEV_ACCOUNTS).map((n) => ({ name: n, pair: keyring.addFromUri(`//${n}`, { name: n }) }));
  }
  return pairs;
}

async function pairOf(address) {
  const found = (await keys()).find((k) => k.pair.address === address);
  if (!found) throw new Error(`the dev wallet has no account ${address}`);
  return found;
}

async function checkChain(genesisHash) {
  if (genesisHash && genesisHash !== DEV_CHAIN_GENESIS) throw new Error('the dev wallet signs for the local dev chain only');
  const r = await fetch('/api/chain');
  const info = await r.json();
  if (info.genesis_hash !== DEV_CHAIN_GENESIS) throw new Error('the dev wallet works on the local dev chain only');
}

/** Asks the user, as an extension's popup would; resolves true to sign. */
function approve(who, what) {
  if (options.autoApprove !== undefined) return Promise.resolve(options.autoApprove);
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.id = 'dev-wallet-prompt';
    dialog.setAttribute('aria-label', 'Dev wallet signature request');
    const h = document.createElement('h2');
    h.textContent = `Dev wallet: sign as ${who}?`;
    const p = document.createElement('p');
    p.textContent = what;
    const yes = document.createElement('button');
    yes.id = 'dev-wallet-sign';
    yes.textContent = 'Sign';
    const no = document.createElement('button');
    no.id = 'dev-wallet-reject';
    no.textContent = 'Reject';
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.onclick = () => done(true);
    no.onclick = () => done(false);
    dialog.append(h, p, yes, no);
    document.body.append(dialog);
    dialog.showModal();
  });
}

let nextId = 1;

const signer = {
  async signPayload(payload) {
    await checkChain(payload.genesisHash);
    const { name: who, pair } = await pairOf(payload.address);
    if (!(await approve(who, `a transaction on the dev chain (call ${payload.method.slice(0, 18)}…)`))) throw new Error('Cancelled');
    // What the polkadot.js extension does: the payload as the chain's signed extensions
    // encode it, signed with the account's key, returned as a MultiSignature.
    const registry = new TypeRegistry();
    registry.setSignedExtensions(payload.signedExtensions);
    const extrinsicPayload = registry.createType('ExtrinsicPayload', payload, { version: payload.version });
    const { signature } = extrinsicPayload.sign(pair);
    return { id: nextId++, signature };
  },
  async signRaw(raw) {
    await checkChain();
    const { name: who, pair } = await pairOf(raw.address);
    if (!(await approve(who, raw.data))) throw new Error('Cancelled');
    return { id: nextId++, signature: u8aToHex(pair.sign(u8aWrapBytes(raw.data))) };
  },
};

const accounts = {
  async get() {
    return (await keys()).map(({ name: n, pair }) => ({ address: pair.address, name: `${n} (dev)`, type: 'sr25519', genesisHash: DEV_CHAIN_GENESIS }));
  },
  subscribe(cb) {
    accounts.get().then(cb);
    return () => {};
  },
};

window.injectedWeb3 = window.injectedWeb3 || {};
window.injectedWeb3[name] = {
  version: '1.0.0',
  async enable() {
    await checkChain();
    return { accounts, signer, metadata: { get: async () => [], provide: async () => false } };
  },
};
