// What a sign-in error code (from next-auth or our own authorize/signIn callbacks) means to a person.
export function signInErrorMessage(code: string): string {
  const throttled = /^TooManyAttempts-(\d{1,4})$/.exec(code);
  if (throttled) {
    const n = Number(throttled[1]);
    return `Too many attempts. Try again in ${n} minute${n === 1 ? '' : 's'}.`;
  }
  switch (code) {
    case 'TooManyAttempts':
      return 'Too many attempts. Try again in a few minutes.';
    case 'OneTimePasswordExpired':
      return 'Your one-time password has expired. Ask a Firstup Super Admin for a new one.';
    case 'EmailNotVerified':
      return 'Your single sign-on provider has not verified your email address, so DDE cannot sign you in with it.';
    case 'SsoSubjectMismatch':
      return 'This DDE account is linked to a different single sign-on identity. Ask a Firstup Super Admin for help.';
    case 'CredentialsSignin':
      return 'Email or password is incorrect.';
    case 'AccountDisabled':
      return 'This account is disabled. Ask a Firstup Super Admin to enable it again.';
    case 'NoAccount':
      return 'There is no DDE account for the email address your single sign-on provider returned. Ask a Firstup Super Admin to create one.';
    case 'AccessDenied':
      return 'Sign-in was refused for this account.';
    case 'SessionRequired':
      return 'Sign in to continue.';
    case 'OAuthSignin':
    case 'OAuthCallback':
    case 'OAuthCreateAccount':
    case 'OAuthAccountNotLinked':
    case 'Callback':
      return 'Single sign-on did not complete. Try again, or sign in with your email and password.';
    default:
      return 'Sign-in failed. Try again in a moment.';
  }
}
