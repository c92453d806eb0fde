// The base of every error the app throws on purpose. Next's route handlers and
// server.ts each load their own copy of every module, so an error made by one copy
// fails a plain `instanceof` against the other copy's class. Each subclass names
// itself (`static readonly brand = "…"`), every instance carries the brands of its
// class chain under a `Symbol.for` key (shared by all copies), and `instanceof`
// checks that brand instead of the prototype.
const BRANDS = Symbol.for("meshia.error-brands");

type Branded = { [BRANDS]?: readonly string[] };

function brandsOf(cls: unknown): string[] {
  const out: string[] = [];
  for (let c = cls; typeof c === "function" && c !== Error; c = Object.getPrototypeOf(c)) {
    if (Object.hasOwn(c, "brand")) out.push((c as unknown as { brand: string }).brand);
  }
  return out;
}

export class BrandedError extends Error {
  static readonly brand: string = "BrandedError";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    const brands = brandsOf(new.target);
    Object.defineProperty(this, BRANDS, { value: brands });
    this.name = brands[0] ?? "Error";
  }

  /** `instanceof` that also holds for an error made by another copy of the subclass's module. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // A subclass that did not name itself falls back to the prototype check.
    if (!Object.hasOwn(this, "brand")) return Function.prototype[Symbol.hasInstance].call(this, value);
    const brands = typeof value === "object" && value !== null ? (value as Branded)[BRANDS] : undefined;
    return Array.isArray(brands) && brands.includes(this.brand);
  }
}
