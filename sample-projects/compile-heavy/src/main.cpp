#include <iostream>
#include <openssl/opensslv.h>

int main() {
    std::cout << "mediad with " << OPENSSL_VERSION_TEXT << "\n";
    return 0;
}
