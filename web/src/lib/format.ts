/** Display helpers for the dashboard (locale-aware, no dependencies). */

const numbers = new Intl.NumberFormat();
let regions: Intl.DisplayNames | undefined;

export const formatCount = (n: number) => numbers.format(n);

/** "1 session", "2 sessions". */
export const plural = (n: number, one: string, many: string) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** "US" → "United States" (the code itself when the browser does not know it). */
export function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  try {
    regions ??= new Intl.DisplayNames(undefined, { type: 'region' });
    return regions.of(code) ?? code;
  } catch {
    return code;
  }
}

/** A stored UTC time 'YYYY-MM-DD hh:mm:ss.sss' as local 'hh:mm:ss'. */
export function clockTime(utc: string): string {
  const d = new Date(`${utc.replace(' ', 'T')}Z`);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Where an event came from: "Berlin, Germany", either part left out when unknown. */
export const placeName = (e: { city: string; country: string }) => [e.city, e.country && countryName(e.country)].filter(Boolean).join(', ');
