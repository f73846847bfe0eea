// Where the connection pages live (the navigation, links and redirects use these).
export const CONNECTIONS_PATH = '/configure/insights/recurring-data-connections';
