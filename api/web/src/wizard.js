// The perk wizard as a page: step 1 picks one of the templates (every field prefilled),
// step 2 edits the fields, step 3 previews the perk exactly as fans will see it on the
// release page; submitting signs `add_perk` (see actions.js).

const DAY = 86_400_000;

function templates() {
  const data = document.getElementById('perk-templates');
  return data ? JSON.parse(data.textContent) : [];
}

function fill(form, t) {
  const set = (name, v) => {
    const f = form.elements.namedItem(name);
    if (f) f.value = v;
  };
  set('title', t.title);
  set('description', t.description);
  set('value', String(t.value_units));
  set('escrow_bps', String(t.escrow_bps));
  set('delivery', t.delivery);
  set('deadline', String(t.deadline_days));
  set('category', t.category);
  form.dataset.icon = t.icon;
}

function preview(form) {
  const f = (name) => form.elements.namedItem(name)?.value ?? '';
  const card = form.querySelector('.preview');
  if (!card) return;
  const deadline = new Date(Date.now() + Number(f('deadline')) * DAY).toISOString().slice(0, 10);
  const escrow = (Number(f('escrow_bps')) / 100).toFixed(2).replace(/\.?0+$/, '');
  card.querySelector('.icon').textContent = form.dataset.icon || '✨';
  card.querySelector('h3').textContent = f('title');
  card.querySelector('.description').textContent = f('description');
  card.querySelector('.terms').textContent =
    `${f('category').replace('_', ' ')} · worth ${f('value')} UNIT · ${escrow} % of the price in escrow · ${f('delivery')} delivery · by ${deadline}`;
  // Only the automatic delivery's chosen kind is sent: a disabled field is not.
  const automatic = f('delivery') === 'automatic';
  const pool = form.querySelector('#secret-kind')?.value === 'codes';
  form.querySelector('.automatic').hidden = !automatic;
  const [secret, codes] = [form.elements.namedItem('secret'), form.elements.namedItem('codes')];
  secret.disabled = !automatic || pool;
  secret.closest('.field').hidden = pool;
  codes.disabled = !automatic || !pool;
  codes.closest('.field').hidden = !pool;
  if (automatic && pool) {
    const n = lines(codes.value).length;
    const limit = Number(f('quantity_limit')) || n;
    card.querySelector('.terms').textContent +=
      ` · a code of their own for each holder (${n} codes, so for the first ${Math.min(limit, n)} editions)`;
  }
}

/** The codes of a textarea: one per line, blank lines left out. */
export function lines(text) {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

function showStep(form, n) {
  for (const step of form.querySelectorAll('[data-step]')) step.hidden = Number(step.dataset.step) !== n;
  preview(form);
}

export function bindWizard() {
  const form = document.querySelector('form.wizard');
  if (!form) return;
  const all = templates();
  const kind = form.elements.namedItem('kind');
  kind.addEventListener('change', () => {
    const t = all.find((x) => x.kind === kind.value);
    if (t) fill(form, t);
    preview(form);
  });
  form.addEventListener('input', () => preview(form));
  form.addEventListener('change', () => preview(form));
  for (const b of form.querySelectorAll('button[data-goto]')) {
    b.addEventListener('click', () => {
      const n = Number(b.dataset.goto);
      // Moving forward only past valid fields: the browser says which one is wrong.
      const current = b.closest('[data-step]');
      if (n > Number(current.dataset.step)) {
        for (const input of current.querySelectorAll('input, select, textarea')) {
          if (!input.reportValidity()) return;
        }
      }
      showStep(form, n);
    });
  }
  if (all.length && !form.elements.namedItem('title').value) {
    kind.value = all[0].kind;
    fill(form, all[0]);
  }
  showStep(form, 1);
}
