/** Number formats the page uses (the device's clock resolves 0.1 ms; sizes are whole bytes). */

/** Milliseconds: one decimal below 100, none above. */
export function ms(x: number): string {
  if (x > 0 && x < 0.05) return '<0.1';
  return x < 100 ? x.toFixed(1) : x.toFixed(0);
}

/** Joules in mJ (µJ below 0.1 mJ), two or three significant digits. */
export function energy(j: number): string {
  const v = j * 1000;
  if (v > 0 && v < 0.1) return `${(v * 1000).toPrecision(2)} µJ`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} mJ`;
}

/** Bytes, whole; kB / MB above 10 kB. */
export function bytes(b: number): string {
  if (b >= 1e7) return `${(b / 1e6).toFixed(1)} MB`;
  if (b >= 1e4) return `${(b / 1e3).toFixed(0)} kB`;
  return `${Math.round(b)} B`;
}

/** A share 0..1 as a whole percentage (one decimal under 10%, so 0.4% is not shown as 0%). */
export function pct(share: number): string {
  const p = share * 100;
  return p > 0 && p < 10 ? `${p.toFixed(1)}%` : `${p.toFixed(0)}%`;
}

/** Escapes text for innerHTML. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
