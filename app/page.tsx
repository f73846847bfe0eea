// "/" opens the Recurring Data Connections page (which sends visitors who are not signed in to /sign-in).
import { redirect } from 'next/navigation';

export default function Home() {
  redirect('/configure/insights/recurring-data-connections');
}
