export { Constraint, Interval, GreaterThan, Positive, LessThan, softplus, inverseSoftplus, sigmoid } from "./Interval";
