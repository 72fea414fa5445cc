// A form generated from a task's JSON Schema (`params` in GET /api/tasks): the subset
// the tasks use: numbers and integers with bounds, strings (with enum or pattern),
// arrays of strings, and objects mapping a name to a set of enum values.

import { field, h } from './ui.js';

/** Returns { el, value() } for the object schema `schema`; `suggest` lists column names. */
export function schemaForm(schema, suggest = []) {
  const props = Object.entries(schema.properties || {});
  const required = new Set(schema.required || []);
  const readers = [];
  const listId = `cols-${Math.random().toString(36).slice(2, 8)}`;
  const datalist = h('datalist', { id: listId }, suggest.map((s) => h('option', { value: s })));
  const fields = props.map(([name, prop]) => {
    const { el, read } = control(name, prop, required.has(name), listId, suggest);
    readers.push([name, read]);
    return el;
  });
  if (!props.length) fields.push(h('p.muted.small', 'This task takes no parameters.'));
  return {
    el: h('div', fields, datalist),
    value() {
      const out = {};
      for (const [name, read] of readers) {
        const v = read();
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
  };
}

const title = (name) => name.replaceAll('_', ' ').replace(/^./, (c) => c.toUpperCase());

function control(name, prop, isRequired, listId, suggest) {
  const hint = prop.description;
  const label = `${title(name)}${isRequired ? '' : ' (optional)'}`;
  if (prop.type === 'number' || prop.type === 'integer') {
    const input = h('input', { type: 'number', name, min: prop.minimum, max: prop.maximum, step: prop.type === 'integer' ? 1 : 'any',
      value: prop.default !== undefined ? Number(prop.default.toPrecision(6)) : '', required: isRequired });
    return { el: field(label, input, hint), read: () => (input.value === '' ? undefined : Number(input.value)) };
  }
  if (prop.type === 'string' && prop.enum) {
    const select = h('select', { name }, prop.enum.map((v) => h('option', { value: v, selected: v === prop.default }, v)));
    return { el: field(label, select, hint), read: () => select.value };
  }
  if (prop.type === 'string') {
    const input = h('input', { type: 'text', name, pattern: prop.pattern ? prop.pattern.replace(/^\^|\$$/g, '') : undefined,
      value: prop.default || '', required: isRequired, spellcheck: 'false' });
    return { el: field(label, input, hint), read: () => (input.value.trim() === '' ? undefined : input.value.trim()) };
  }
  if (prop.type === 'array' && prop.items && prop.items.type === 'string') {
    const input = h('input', { type: 'text', name, list: listId, required: isRequired, placeholder: suggest.slice(0, 2).join(', ') || 'a, b', spellcheck: 'false' });
    return { el: field(label, input, `${hint ? `${hint}; ` : ''}comma-separated`), read: () => {
      const items = input.value.split(',').map((s) => s.trim()).filter(Boolean);
      return items.length ? items : undefined;
    } };
  }
  if (prop.type === 'object' && prop.additionalProperties && prop.additionalProperties.items && prop.additionalProperties.items.enum) {
    return mapEditor(name, label, prop, listId, hint);
  }
  // Anything else: JSON text.
  const area = h('textarea', { name, rows: 3, spellcheck: 'false' }, prop.default !== undefined ? JSON.stringify(prop.default) : '');
  return { el: field(label, area, `${hint ? `${hint}; ` : ''}JSON`), read: () => (area.value.trim() ? JSON.parse(area.value) : undefined) };
}

/** {"amount": ["sum", "count"]}: a row per key, a checkbox per operation. */
function mapEditor(name, label, prop, listId, hint) {
  const ops = prop.additionalProperties.items.enum;
  const rows = h('div.kv-editor');
  const addRow = () => {
    const key = h('input', { type: 'text', list: listId, 'aria-label': `${title(name)}: column`, placeholder: 'column', spellcheck: 'false' });
    const boxes = ops.map((op, i) => h('input', { type: 'checkbox', value: op, checked: i < 2 }));
    const remove = h('button.ghost.small', { type: 'button', 'aria-label': 'Remove this column' }, '✕');
    const row = h('div.kv-row', key, h('div.ops', boxes.map((b) => h('label', b, b.value))), remove);
    row.read = () => [key.value.trim(), boxes.filter((b) => b.checked).map((b) => b.value)];
    remove.addEventListener('click', () => row.remove());
    rows.append(row);
    return key;
  };
  addRow();
  const add = h('button.small', { type: 'button', onclick: () => addRow().focus() }, 'Add a column');
  const el = h('fieldset.field', h('legend', h('label', label)), rows, h('div.row', add), hint ? h('div.hint', hint) : null);
  el.classList.add('plain');
  return { el, read: () => {
    const out = {};
    for (const row of rows.children) {
      const [key, chosen] = row.read();
      if (key && chosen.length) out[key] = chosen;
    }
    return Object.keys(out).length ? out : undefined;
  } };
}
