export { MultivariateNormal } from "./MultivariateNormal";
