// What account fields may be.
import { z } from "zod";
import { nameField } from "@/lib/http/names";

export const accountFields = {
  name: nameField(100),
  email: z.string().trim().toLowerCase().max(254).pipe(z.email("email must be an email address")),
  password: z.string().min(10, "password must be at least 10 characters").max(256, "password must be at most 256 characters"),
};

export const roleField = z.enum(["owner", "member"]);
