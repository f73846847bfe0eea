// The navigation tree (Configure › Insights › Recurring Data Connections, Configure › Activity Log).
export type NavLink = { href: string; label: string; icon: 'connections' | 'activity' };
export type NavGroup = { label: string; links: NavLink[] };
export type NavSection = { label: string; groups: NavGroup[] };

export const NAV: NavSection[] = [
  {
    label: 'Configure',
    groups: [
      { label: 'Insights', links: [{ href: '/configure/insights/recurring-data-connections', label: 'Recurring Data Connections', icon: 'connections' }] },
      { label: '', links: [{ href: '/configure/activity-log', label: 'Activity Log', icon: 'activity' }] },
    ],
  },
];

