// What a sign-in error code (from next-auth or our own authorize/signIn callbacks) means to a person.
export function signInErrorMessage(code: string): string {
  switch (code) {
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
