// The two hooks of `next/navigation` that next.tsx uses. Next.js is an optional peer that is
// not installed in this repository; in an app, Next's own types take over.
declare module 'next/navigation' {
  export function usePathname(): string;
  export function useSearchParams(): URLSearchParams | null;
}
