// Just enough CSV (RFC 4180: quoted fields, doubled quotes, CRLF) to preview a dataset's
// first rows; the server's own parser is the one that counts.

/** The complete records in `text` (a partial last line is dropped unless `complete`). */
export function parseCsv(text, complete = false, maxRows = 50) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  for (; i < text.length && rows.length < maxRows; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (complete && i >= text.length && (cell || row.length)) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
