// What account fields may be.
import { z } from "zod";

export const accountFields = {
  name: z.string().trim().min(1, "name must not be empty").max(100, "name must be at most 100 characters"),
  email: z.string().trim().toLowerCase().max(254).pipe(z.email("email must be an email address")),
  password: z.string().min(10, "password must be at least 10 characters").max(256, "password must be at most 256 characters"),
};

export const roleField = z.enum(["owner", "member"]);
