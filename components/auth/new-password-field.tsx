// The password of a new account (setup, joining by invitation): the browser checks the
// length the API asks for (lib/auth/validate.ts) before the form is sent.
import { Field } from "@/components/ui/field";

const MIN_LENGTH = 10;

export function NewPasswordField({ label, error }: { label: string; error?: string | undefined }) {
  return (
    <Field
      label={`${label} (${MIN_LENGTH} characters or more)`}
      name="password"
      type="password"
      autoComplete="new-password"
      minLength={MIN_LENGTH}
      required
      error={error}
    />
  );
}
