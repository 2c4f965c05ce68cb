/** WebDAV-Push trigger types (draft §"Triggers"); DAV depth values per RFC 4918 (`infinity`, not `infinite`). */
export type Depth = '0' | '1' | 'infinity';
const DEPTHS: readonly Depth[] = ['0', '1', 'infinity'];

export interface Trigger {
  contentUpdate?: { depth: Depth };
  /** `props` are Clark-notation names (`{DAV:}displayname`); empty means "server's choice". */
  propertyUpdate?: { depth: Depth; props: string[] };
}

/** What this server supports; advertised in `supported-triggers` and enforced at registration. */
export const SUPPORTED_TRIGGERS: Required<{ [K in keyof Trigger]: { depth: Depth } }> = {
  contentUpdate: { depth: 'infinity' },
  propertyUpdate: { depth: '0' },
};

const rank = (d: Depth): number => DEPTHS.indexOf(d);

/** Relaxed processing (draft): a requested depth above what we support is lowered, never refused. */
export function clampDepth(requested: Depth, max: Depth): Depth {
  return rank(requested) > rank(max) ? max : requested;
}

export function parseDepth(value: string | undefined): Depth | undefined {
  const v = value?.trim().toLowerCase();
  if (v === '0' || v === '1' || v === 'infinity') return v;
  // Pre-2025-04 drafts and some clients wrote `infinite`.
  if (v === 'infinite') return 'infinity';
  return undefined;
}
