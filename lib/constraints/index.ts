export { Constraint, Interval, GreaterThan, Positive, LessThan } from "./Interval";
