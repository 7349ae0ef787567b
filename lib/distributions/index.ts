export { MultivariateNormal } from "./MultivariateNormal";
export { MultitaskMultivariateNormal } from "./MultitaskMultivariateNormal";
