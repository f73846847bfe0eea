// /account/password: choose a new password (required after signing in with a one-time password).
import type { Metadata } from 'next';
import { ChangePasswordForm } from '@/components/account/change-password-form';
import { PageHeader } from '@/components/ui/page-header';
import { requirePageActor } from '@/lib/auth/page';

export const metadata: Metadata = { title: 'Change password' };

export default async function ChangePasswordPage() {
  const actor = await requirePageActor();
  return (
    <>
      <PageHeader
        breadcrumb={['Account']}
        title={actor.mustChangePassword ? 'Choose your password' : 'Change password'}
        description={
          actor.mustChangePassword
            ? 'You signed in with a one-time password. Choose your own password to continue.'
            : `Change the password of ${actor.email}.`
        }
      />
      <div className="mt-8 max-w-md rounded-xl border border-slate-200 bg-white p-6 shadow-xs">
        <ChangePasswordForm required={actor.mustChangePassword} />
      </div>
    </>
  );
}
