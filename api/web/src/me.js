// The benefits of the account signed in by hand (signin-manual.js); with a wallet
// extension, app.js sends /me to the picked account's dashboard instead.
const token = localStorage.getItem('dreamster.token');
const me = localStorage.getItem('dreamster.address');
const who = document.getElementById('who');
const list = document.getElementById('benefits');
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
async function load() {
  if (!token || !me) { who.textContent = ''; const a = el('a', null, 'Sign in first'); a.href = '/signin'; who.append(a); return; }
  const r = await fetch('/api/fans/' + encodeURIComponent(me) + '/perks?limit=100');
  const d = await r.json();
  who.textContent = me + ' · ' + d.editions + ' edition(s)';
  for (const b of d.benefits.items) {
    const card = el('div', 'card perk benefit');
    card.dataset.state = b.state;
    card.append(el('span', 'icon', b.icon));
    const body = el('div');
    body.append(el('h3', null, b.title + ' — ' + b.state));
    body.append(el('p', null, b.release_title + ' · edition ' + b.edition));
    body.append(el('p', 'muted', b.access));
    if (b.delivery === 'automatic' && (b.state === 'unlocked' || b.state === 'confirmed')) {
      const btn = el('button', 'reveal', 'Get it');
      const out = el('p', 'secret');
      btn.onclick = async () => {
        const s = await fetch('/api/releases/' + b.release + '/editions/' + b.edition + '/perks/' + b.perk + '/secret',
                              { headers: { authorization: 'Bearer ' + token } });
        const j = await s.json();
        out.textContent = s.ok ? j.secret : j.message;
      };
      body.append(btn, out);
    }
    card.append(body);
    list.append(card);
  }
}
load();
