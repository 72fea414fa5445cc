// The shell: hash routes (#/image/ID, #/jobs/ID, ...) to pages, the nav, the token box
// and the notice shown when a write needs the token.

import { setToken, token } from './api.js';
import { clear, h } from './ui.js';
import { galleryPage } from './gallery.js';
import { uploadPage } from './upload.js';
import { imagePage } from './image.js';
import { duplicatesPage } from './duplicates.js';
import { mapPage } from './map.js';
import { jobsPage, jobPage } from './jobs.js';
import { datasetsPage, datasetPage } from './datasets.js';
import { apiPage } from './apidoc.js';

const routes = [
  [/^\/?$/, galleryPage, 'Gallery'],
  [/^\/upload$/, uploadPage, 'Upload'],
  [/^\/image\/([0-9a-f]{64})$/, imagePage, 'Image'],
  [/^\/duplicates$/, duplicatesPage, 'Duplicates'],
  [/^\/map$/, mapPage, 'Map'],
  [/^\/jobs$/, jobsPage, 'Jobs'],
  [/^\/jobs\/([^/?]+)$/, jobPage, 'Job'],
  [/^\/datasets$/, datasetsPage, 'Datasets'],
  [/^\/datasets\/([0-9a-f]{64})$/, datasetPage, 'Dataset'],
  [/^\/api$/, apiPage, 'API'],
];

const view = document.getElementById('view');
let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  return { path, params: new URLSearchParams(query) };
}

async function render() {
  const { path, params } = parseHash();
  if (cleanup) cleanup();
  cleanup = null;
  hideNotice();
  const match = routes.find(([re]) => re.test(path));
  const navPath = `#/${path.split('/')[1] || ''}`;
  for (const a of document.querySelectorAll('#nav a')) {
    const section = a.getAttribute('href');
    const current = section === navPath || (section === '#/' && navPath === '#/image');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.getElementById('nav').classList.remove('open');
  document.querySelector('.nav-toggle').setAttribute('aria-expanded', 'false');
  if (!match) {
    document.title = 'Not found · darkroom';
    clear(view, h('div.empty', h('h1', 'Nothing here'), h('p', 'That page does not exist.'), h('a.button.primary', { href: '#/' }, 'Back to the gallery')));
    return;
  }
  const [re, page, title] = match;
  document.title = `${title} · darkroom`;
  const args = path.match(re).slice(1);
  clear(view);
  const ctx = { params, onLeave: (fn) => (cleanup = fn) };
  try {
    await page(view, ...args, ctx);
  } catch (err) {
    clear(view, h('div.empty', h('h1', 'Something went wrong'), h('p.problem', err.friendly || err.message || String(err))));
  }
  if (document.activeElement === document.body) view.focus({ preventScroll: true });
}

function hideNotice() {
  document.getElementById('notice').hidden = true;
}

function showNotice(problem) {
  const box = document.getElementById('notice');
  clear(box, h('div', h('strong', problem.status === 401 ? 'Sign-in needed. ' : 'Token refused. '), problem.friendly),
    h('button.small', { type: 'button', onclick: openTokenDialog }, 'Sign in'));
  box.hidden = false;
}

const dialog = document.getElementById('token-dialog');
const input = document.getElementById('token-input');

function openTokenDialog() {
  input.value = token();
  dialog.showModal();
  input.focus();
}

function reflectToken() {
  const button = document.getElementById('token-button');
  button.textContent = token() ? 'Signed in' : 'Sign in';
  button.classList.toggle('signed-in', Boolean(token()));
}

document.getElementById('token-button').addEventListener('click', openTokenDialog);
document.getElementById('token-cancel').addEventListener('click', () => dialog.close());
document.getElementById('token-clear').addEventListener('click', () => {
  setToken('');
  dialog.close();
});
document.getElementById('token-form').addEventListener('submit', () => {
  setToken(input.value.trim());
  hideNotice();
});
document.querySelector('.nav-toggle').addEventListener('click', (e) => {
  const nav = document.getElementById('nav');
  nav.classList.toggle('open');
  e.currentTarget.setAttribute('aria-expanded', String(nav.classList.contains('open')));
});
window.addEventListener('darkroom:token', reflectToken);
window.addEventListener('darkroom:unauthorized', (e) => showNotice(e.detail));
window.addEventListener('hashchange', render);
reflectToken();
render();
