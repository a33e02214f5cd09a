#include <geometry_msgs/msg/twist.hpp>
#include <rclcpp/rclcpp.hpp>

int main(int argc, char **argv) {
  rclcpp::init(argc, argv);
  auto node = rclcpp::Node::make_shared("drive_controller");
  auto sub = node->create_subscription<geometry_msgs::msg::Twist>(
      "cmd_vel", 10, [&node](geometry_msgs::msg::Twist::SharedPtr msg) {
        RCLCPP_DEBUG(node->get_logger(), "v=%f w=%f", msg->linear.x, msg->angular.z);
      });
  rclcpp::spin(node);
  rclcpp::shutdown();
  return 0;
}
