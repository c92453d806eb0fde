// A message of what went wrong, announced to screen readers; nothing when there is none.
export function ErrorAlert({ message }: { message: string | null | undefined | false }) {
  if (!message) return null;
  return (
    <p role="alert" className="error">
      {message}
    </p>
  );
}
