// Sign-in without a wallet extension: the SIWS message is shown, signed elsewhere, pasted.
let nonce = null;
const $ = (id) => document.getElementById(id);
async function call(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) { $('status').textContent = j.message; throw new Error(j.message); }
  return j;
}
$('challenge').onclick = async () => {
  const j = await call('/auth/challenge', { address: $('address').value.trim() });
  nonce = j.nonce;
  $('message').textContent = j.message;
};
$('verify').onclick = async () => {
  const j = await call('/auth/verify', { address: $('address').value.trim(), nonce, signature: $('signature').value.trim() });
  localStorage.setItem('dreamster.token', j.token);
  // Signed in by hand, not through the picked wallet account: wallet actions sign in anew.
  localStorage.removeItem('dreamster.signedAs');
  localStorage.setItem('dreamster.address', j.address);
  location.href = '/me';
};
