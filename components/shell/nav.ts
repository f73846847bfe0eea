// The navigation tree (Configure › Insights › Recurring Data Connections and API access,
// Configure › Activity Log). A link with a permission is shown only to roles that have it.
import { CONNECTIONS_PATH as CONNECTIONS_HREF } from '@/components/connections/paths';
import type { Permission } from '@/lib/auth/permissions';

export type NavLink = { href: string; label: string; icon: 'connections' | 'key' | 'activity'; permission?: Permission };
export type NavGroup = { label: string; links: NavLink[] };
export type NavSection = { label: string; groups: NavGroup[] };

export const NAV: NavSection[] = [
  {
    label: 'Configure',
    groups: [
      {
        label: 'Insights',
        links: [
          { href: CONNECTIONS_HREF, label: 'Recurring Data Connections', icon: 'connections' },
          { href: `${CONNECTIONS_HREF}/api-access`, label: 'API access', icon: 'key', permission: 'api_access.read' },
        ],
      },
      { label: '', links: [{ href: '/configure/activity-log', label: 'Activity Log', icon: 'activity' }] },
    ],
  },
];

/** The tree as one role sees it. */
export function navFor(allowed: (permission: Permission) => boolean): NavSection[] {
  return NAV.map((section) => ({
    ...section,
    groups: section.groups.map((group) => ({ ...group, links: group.links.filter((l) => !l.permission || allowed(l.permission)) })),
  }));
}

/** The link for a path: the longest href that is the path or one of its parents. */
export function activeHref(sections: NavSection[], pathname: string): string | undefined {
  const hrefs = sections.flatMap((s) => s.groups.flatMap((g) => g.links.map((l) => l.href)));
  return hrefs.filter((h) => pathname === h || pathname.startsWith(`${h}/`)).sort((a, b) => b.length - a.length)[0];
}
